"""The ``nats`` source: read a JetStream stream through a durable pull consumer, acknowledging
each message only after every destination that received it has committed it (DESIGN 15).

A new durable starts at the beginning of the stream. Backpressure: the consumer's
``max_ack_pending`` is ``prefetch``, and the source fetches no more while that many messages
wait for their acknowledgement, so memory stays flat. The connection reconnects by itself;
messages not acknowledged within ``ack_wait`` (a killed run) are delivered again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from adf_core import component
from adf_core.acks import acknowledges, commit_soon, finish, on_commit
from adf_core.messages import ReadWindow, decode_messages
from adf_plugin_nats.streams import connect, ensure_stream
from adf_plugin_nats.urls import safe_url

log = logging.getLogger("adf_plugin_nats")
_WAIT_S = 0.05  # an idle fetch waits this long before it looks at draining and idle_timeout
_BACKOFF_MAX_S = 5.0


@component
@acknowledges
async def nats_source(
    subject: str,
    stream: str,
    durable: str = "adf",
    url: str = "nats://127.0.0.1:4222",
    prefetch: int = 5000,
    batch_size: int = 1000,
    ack_wait: float = 30.0,
    max_messages: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Read a NATS JetStream stream through a durable consumer: one JSON object per message,
    acknowledged after commit.

    The stream (on `subject`) and the durable consumer are created when absent; a new
    durable starts at the beginning of the stream. Runs until SIGTERM/SIGINT (which drain:
    commit and acknowledge what is in flight, exit 0), unless `max_messages` or
    `idle_timeout` ends it. A message that is not a JSON object is a bad record
    (`--on-error`, `--dead-letter`), acknowledged once dead-lettered.

    Args:
        subject: the subject to read (the stream's subject, or a filter within it).
        stream: the JetStream stream.
        durable: the durable consumer's name (its position survives restarts).
        url: NATS URL (nats://[user:password@]host:port).
        prefetch: messages delivered but not yet acknowledged, at most (max_ack_pending).
        batch_size: messages per fetch at most.
        ack_wait: seconds before an unacknowledged message is delivered again (a new durable).
        max_messages: stop after this many messages.
        idle_timeout: stop after this many seconds without a message.
    """
    import nats.errors
    from nats.js.api import ConsumerConfig, DeliverPolicy

    prefetch = max(int(prefetch), 1)
    batch_size = max(int(batch_size), 1)
    nc = await connect(url, "nats source")
    window = ReadWindow(batch_size, max_messages, prefetch)
    idle = 0.0
    delay = 0.1
    loop = asyncio.get_running_loop()

    async def ack(messages: list[Any]) -> None:
        await asyncio.gather(*(message.ack() for message in messages))
        window.acknowledged(len(messages))

    try:
        js = nc.jetstream()
        await ensure_stream(js, stream, subject)
        config = ConsumerConfig(durable_name=durable, deliver_policy=DeliverPolicy.ALL,
                                ack_wait=float(ack_wait), max_ack_pending=prefetch,
                                filter_subject=subject)
        subscription = await js.pull_subscribe(subject, durable=durable, stream=stream,
                                               config=config)
        while count := await window.next_count():
            started = loop.time()
            try:
                messages = await subscription.fetch(count, timeout=_WAIT_S)
                delay = 0.1
            except nats.errors.TimeoutError:
                messages = []
            except (nats.errors.Error, OSError) as exc:
                log.warning("nats source: reconnecting to %s in %.1fs: %s", safe_url(url),
                            delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
                continue
            if not messages:
                idle += loop.time() - started
                commit_soon()  # nothing comes: destinations need not wait for commit_interval
                if idle_timeout is not None and idle >= idle_timeout:
                    break
                continue
            idle = 0.0
            records = decode_messages([message.data for message in messages], window.received,
                                      subject)
            window.read(len(messages))
            if records:
                yield records
            on_commit(lambda messages=messages: ack(messages))
        await finish()
        await nc.flush()  # the last acknowledgements reach the server before we close
    finally:
        await nc.close()
