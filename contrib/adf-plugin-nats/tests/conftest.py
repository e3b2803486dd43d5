"""The local NATS JetStream (127.0.0.1:4222): a fresh stream and subject per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from adf_core.testing.brokers import Broker, require_port

URL = "nats://127.0.0.1:4222"


async def _publish(stream: str, subject: str, bodies: list[bytes]) -> None:
    import nats

    nc = await nats.connect(URL)
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(stream)
        except Exception:
            await js.add_stream(name=stream, subjects=[subject])
        for start in range(0, len(bodies), 1000):
            await asyncio.gather(*(js.publish(subject, body, stream=stream)
                                   for body in bodies[start:start + 1000]))
    finally:
        await nc.close()


async def _left(stream: str, durable: str) -> int:
    """Messages the durable has not had acknowledged: delivered and pending their ack, plus
    those not delivered yet."""
    import nats

    nc = await nats.connect(URL)
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
        return int(info.num_ack_pending or 0) + int(info.num_pending or 0)
    finally:
        await nc.close()


async def _delete(stream: str) -> None:
    import nats

    nc = await nats.connect(URL)
    try:
        await nc.jetstream().delete_stream(stream)
    except Exception:
        pass
    finally:
        await nc.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    require_port("NATS", "127.0.0.1", 4222)
    name = uuid.uuid4().hex[:10]
    stream, subject = f"adf-test-{name}", f"adf.test.{name}"
    yield Broker(component="nats", url=URL, options={"subject": subject, "stream": stream},
                 source_options={"durable": "d1", "ack_wait": 2},
                 publish=lambda bodies: asyncio.run(_publish(stream, subject, bodies)),
                 left=lambda: asyncio.run(_left(stream, "d1")))
    asyncio.run(_delete(stream))
