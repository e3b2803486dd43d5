"""The local Redis (127.0.0.1:6379): a fresh stream per test, deleted after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from adf_core.testing.brokers import Broker, require_port

URL = "redis://127.0.0.1:6379/0"


def _client() -> object:
    import redis

    return redis.Redis.from_url(URL)


def _publish(stream: str, bodies: list[bytes]) -> None:
    client = _client()
    for start in range(0, len(bodies), 1000):
        pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
        for body in bodies[start:start + 1000]:
            pipe.xadd(stream, {"data": body})
        pipe.execute()


def _left(stream: str, group: str) -> int:
    """Entries the group has not acknowledged: pending (delivered) plus its lag (not yet
    delivered)."""
    groups = _client().xinfo_groups(stream)  # type: ignore[attr-defined]
    for info in groups:
        if info["name"].decode() == group:
            return int(info["pending"]) + int(info.get("lag") or 0)
    return int(_client().xlen(stream))  # type: ignore[attr-defined]


@pytest.fixture
def broker() -> Iterator[Broker]:
    require_port("Redis", "127.0.0.1", 6379)
    stream = f"adf-test-{uuid.uuid4().hex[:10]}"
    yield Broker(component="redis", url=URL, options={"stream": stream},
                 source_options={"group": "g1", "consumer": "c1"},
                 publish=lambda bodies: _publish(stream, bodies),
                 left=lambda: _left(stream, "g1"))
    _client().delete(stream)  # type: ignore[attr-defined]
