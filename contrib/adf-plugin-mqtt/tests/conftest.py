"""The local Mosquitto (127.0.0.1:1883): a fresh topic and client id per test.

MQTT keeps messages only for sessions that exist: ``prepare`` opens the consumer's
persistent session (QoS 1 subscription) before anything is published. The broker cannot
tell what is left unacknowledged from outside (``left`` is None), and queues at most its
``max_queued_messages`` (1000 by default) for an absent session: the tests stay below it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator

import pytest

from adf_core.testing.brokers import Broker, require_port

URL = "mqtt://127.0.0.1:1883"


async def _session(client_id: str, topic: str) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883, identifier=client_id,
                              clean_session=False) as client:
        await client.subscribe(topic, qos=1)


async def _publish(topic: str, bodies: list[bytes]) -> None:
    import aiomqtt

    quiet = logging.getLogger("adf-test-mqtt")
    quiet.setLevel(logging.ERROR)
    async with aiomqtt.Client("127.0.0.1", 1883, max_inflight_messages=100,
                              logger=quiet) as client:
        for start in range(0, len(bodies), 100):
            await asyncio.gather(*(client.publish(topic, body, qos=1)
                                   for body in bodies[start:start + 100]))


async def _forget(client_id: str) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883, identifier=client_id, clean_session=True):
        pass


@pytest.fixture
def broker() -> Iterator[Broker]:
    require_port("Mosquitto", "127.0.0.1", 1883)
    name = uuid.uuid4().hex[:10]
    topic, client_id = f"adf/test/{name}", f"adf-test-{name}"
    yield Broker(component="mqtt", url=URL, options={"topic": topic},
                 source_options={"client_id": client_id},
                 publish=lambda bodies: asyncio.run(_publish(topic, bodies)),
                 left=lambda: None, window={"batch_size": 100},
                 prepare=lambda: asyncio.run(_session(client_id, topic)))
    asyncio.run(_forget(client_id))
