"""The ``nats`` destination: publish each record as a JSON message to a JetStream subject; an
item of the input counts as committed once the stream acknowledged all its messages
(``adf_core.acks.committed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adf_core import component
from adf_core.acks import committed
from adf_core.records import iter_batches, select_inputs
from adf_plugin_nats.messages import Published, encode, items
from adf_plugin_nats.streams import connect, ensure_stream
from adf_plugin_nats.urls import safe_url


@component
async def nats_destination(
    subject: str,
    stream: str,
    url: str = "nats://127.0.0.1:4222",
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
) -> Published:
    """Publish records to a NATS JetStream subject, one JSON object per message.

    The stream is created on `subject` when it is absent; each message counts as written
    once JetStream acknowledged it.

    Args:
        subject: the subject to publish to.
        stream: the JetStream stream that stores the subject.
        url: NATS URL (nats://[user:password@]host:port).
        input: context keys to write instead of every member of the previous stage.
    """
    inputs = select_inputs(upstream, context, input)
    nc = await connect(url, "nats destination")
    count = 0
    try:
        js = nc.jetstream()
        await ensure_stream(js, stream, subject)
        for _name, data in inputs:
            async for item in items(data):
                pending = []
                for batch in iter_batches(item):
                    pending += [js.publish(subject, encode(record).encode(), stream=stream)
                                for record in batch]
                    count += len(batch)
                await asyncio.gather(*pending)
                committed()
    finally:
        await nc.close()
    return Published(f"{safe_url(url)} subject {subject}", count)
