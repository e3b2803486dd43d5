"""The ``amqp`` destination: publish each record as a JSON message, persistent, with publisher
confirms: an item of the input counts as committed once the broker confirmed all its
messages (``adf_core.acks.committed``), so a broker-to-broker flow acknowledges after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adf_core import component
from adf_core.acks import committed
from adf_core.records import iter_batches, select_inputs
from adf_plugin_amqp.messages import Published, encode, items
from adf_plugin_amqp.urls import safe_url


@component
async def amqp_destination(
    queue: str,
    url: str = "amqp://guest:guest@127.0.0.1/",
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
) -> Published:
    """Publish records to a RabbitMQ queue, one JSON object per message.

    The queue is declared (durable) when it is absent; messages are persistent and confirmed
    by the broker before they count as written (and before a continuous run acknowledges
    its input).

    Args:
        queue: the queue to publish to (through the default exchange).
        url: AMQP URL (amqp://user:password@host:port/vhost).
        input: context keys to write instead of every member of the previous stage.
    """
    import aio_pika

    inputs = select_inputs(upstream, context, input)
    try:
        connection = await aio_pika.connect(url)
    except Exception as exc:
        raise ConnectionError(f"amqp destination: cannot connect to {safe_url(url)}: {exc}"
                              ) from None
    count = 0
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True)
        exchange = channel.default_exchange
        persistent = aio_pika.DeliveryMode.PERSISTENT
        for _name, data in inputs:
            async for item in items(data):
                pending = []
                for batch in iter_batches(item):
                    for record in batch:
                        message = aio_pika.Message(encode(record).encode(),
                                                   delivery_mode=persistent,
                                                   content_type="application/json")
                        pending.append(exchange.publish(message, routing_key=queue))
                    count += len(batch)
                await asyncio.gather(*pending)
                committed()
    finally:
        await connection.close()
    return Published(f"{safe_url(url)} queue {queue}", count)
