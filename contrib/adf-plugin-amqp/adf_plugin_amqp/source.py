"""The ``amqp`` source: consume a RabbitMQ queue, acknowledging each message only after every
destination that received it has committed it (DESIGN 15).

Backpressure reaches the broker: at most ``prefetch`` messages are unacknowledged on the
channel, so RabbitMQ stops delivering while the destinations have not committed, and memory
stays flat however fast the producers are. A dropped connection is reopened with backoff;
what was delivered but not acknowledged is delivered again (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from adf_core import component
from adf_core.acks import acknowledges, commit_soon, draining, finish, on_commit
from adf_core.messages import ReadWindow, decode_messages
from adf_plugin_amqp.urls import safe_url

log = logging.getLogger("adf_plugin_amqp")
_WAIT_S = 0.05  # how often an idle consumer looks at draining, idle_timeout and the connection
_BACKOFF_MAX_S = 5.0


class _Consumer:
    """One connection, channel and consumer; messages wait in ``inbox`` (bounded by the
    prefetch count, since the broker sends no more than that unacknowledged)."""

    def __init__(self, url: str, queue: str, prefetch: int) -> None:
        self.url, self.queue, self.prefetch = url, queue, prefetch
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.connection: Any = None
        self.lost = False

    async def open(self) -> None:
        import aio_pika

        self.inbox = asyncio.Queue()
        self.lost = False
        self.connection = await aio_pika.connect(self.url)
        self.connection.close_callbacks.add(self._lost)
        channel = await self.connection.channel()
        channel.close_callbacks.add(self._lost)
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.declare_queue(self.queue, durable=True)
        await queue.consume(self.inbox.put_nowait, no_ack=False)

    def _lost(self, *_: Any) -> None:
        self.lost = True

    @property
    def broken(self) -> bool:
        return self.lost or self.connection is None or self.connection.is_closed

    async def close(self) -> None:
        self.lost = True
        if self.connection is not None and not self.connection.is_closed:
            with contextlib.suppress(Exception):  # a connection the broker already dropped
                await self.connection.close()
        self.connection = None


@component
@acknowledges
async def amqp_source(
    queue: str,
    url: str = "amqp://guest:guest@127.0.0.1/",
    prefetch: int = 5000,
    batch_size: int = 1000,
    max_messages: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Consume a RabbitMQ queue: one JSON object per message, acknowledged after commit.

    The queue is declared (durable) when it is absent. The source runs until SIGTERM/SIGINT
    (which drain the run: commit and acknowledge what is in flight, exit 0), unless
    `max_messages` or `idle_timeout` ends it. A message that is not a JSON object is a bad
    record (`--on-error`, `--dead-letter`); it is acknowledged once dead-lettered. A lost
    connection is reopened with backoff; unacknowledged messages come again.

    Args:
        queue: the queue to consume.
        url: AMQP URL (amqp://user:password@host:port/vhost).
        prefetch: unacknowledged messages the broker may send (the memory bound).
        batch_size: messages per batch at most.
        max_messages: stop after this many messages.
        idle_timeout: stop after this many seconds without a message.
    """
    consumer = _Consumer(url, queue, max(int(prefetch), 1))
    batch_size = max(int(batch_size), 1)
    window = ReadWindow(batch_size, max_messages)  # prefetch: the channel's QoS bounds it
    delay = 0.1
    connected = False
    try:
        while True:
            if consumer.broken:
                try:
                    await consumer.open()
                    connected = True
                    delay = 0.1
                except Exception as exc:
                    if not connected:  # the first connection: a wrong URL is an error now
                        raise ConnectionError(
                            f"amqp source: cannot consume {queue!r} at {safe_url(url)}: "
                            f"{exc}") from None
                    log.warning("amqp source: reconnecting to %s in %.1fs: %s",
                                safe_url(url), delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _BACKOFF_MAX_S)
                    continue
            if window.stopping():
                break
            idle = 0.0
            message = None
            while message is None:
                try:
                    message = await asyncio.wait_for(consumer.inbox.get(), _WAIT_S)
                except TimeoutError:
                    idle += _WAIT_S
                    commit_soon()  # nothing comes: maybe the broker waits for our acks
                    if draining() or consumer.broken or (
                            idle_timeout is not None and idle >= idle_timeout):
                        break
            if message is None:
                if consumer.broken and not draining():
                    continue
                break
            chunk = [message]
            room = window.room()
            inbox = consumer.inbox
            while len(chunk) < room and not inbox.empty():
                chunk.append(inbox.get_nowait())
            records = decode_messages([message.body for message in chunk], window.received,
                                      queue)
            window.read(len(chunk))
            if records:
                yield records
            on_commit(partial(_ack, consumer, consumer.connection, chunk[-1]))
        await finish()  # end the stream, wait for the last commits and their acks
    finally:
        await consumer.close()


async def _ack(consumer: _Consumer, connection: Any, last: Any) -> None:
    """Acknowledge ``last`` and every message before it on its channel, unless that
    connection was lost meanwhile: the broker then delivers them again (a duplicate at worst).
    """
    if connection is not consumer.connection or consumer.broken:
        return
    await last.ack(multiple=True)
