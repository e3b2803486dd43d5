"""The local RabbitMQ (127.0.0.1:5672, guest/guest): a fresh queue per test, deleted after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from adf_core.testing.brokers import Broker, require_port

URL = "amqp://guest:guest@127.0.0.1:5672/"


async def _publish(queue: str, bodies: list[bytes]) -> None:
    import aio_pika

    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True)
        for start in range(0, len(bodies), 1000):
            await asyncio.gather(*(channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=queue) for body in bodies[start:start + 1000]))


async def _left(queue: str) -> int:
    """Ready plus unacknowledged messages (once no consumer holds any, all are ready)."""
    import aio_pika

    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def _delete(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


@pytest.fixture
def broker() -> Iterator[Broker]:
    require_port("RabbitMQ", "127.0.0.1", 5672)
    queue = f"adf-test-{uuid.uuid4().hex[:10]}"
    yield Broker(component="amqp", url=URL, options={"queue": queue},
                 publish=lambda bodies: asyncio.run(_publish(queue, bodies)),
                 left=lambda: asyncio.run(_left(queue)))
    asyncio.run(_delete(queue))
