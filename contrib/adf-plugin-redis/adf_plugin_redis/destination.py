"""The ``redis`` destination: append each record to a stream (XADD, one JSON object in a
field), a pipeline per item of the input; an item counts as committed once Redis answered
for all of it (``adf_core.acks.committed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adf_core import component
from adf_core.acks import committed
from adf_core.records import iter_batches, select_inputs
from adf_plugin_redis.messages import Published, encode, items
from adf_plugin_redis.urls import safe_url


@component
async def redis_destination(
    stream: str,
    url: str = "redis://127.0.0.1:6379/0",
    field: str = "data",
    maxlen: int | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
) -> Published:
    """Append records to a Redis stream, one JSON object per entry (in `field`).

    The stream is created by its first entry. With `maxlen`, the stream is trimmed to about
    that many entries (`XADD MAXLEN ~`).

    Args:
        stream: the stream key.
        url: Redis URL (redis://[:password@]host:port/db).
        field: the entry field that holds the JSON record.
        maxlen: trim the stream to about this many entries.
        input: context keys to write instead of every member of the previous stage.
    """
    import redis.asyncio as aredis
    import redis.exceptions

    inputs = select_inputs(upstream, context, input)
    client = aredis.Redis.from_url(url)
    count = 0
    try:
        for _name, data in inputs:
            async for item in items(data):
                pipe = client.pipeline(transaction=False)
                for batch in iter_batches(item):
                    for record in batch:
                        pipe.xadd(stream, {field: encode(record)}, maxlen=maxlen,
                                  approximate=True)
                    count += len(batch)
                await pipe.execute()
                committed()
    except (redis.exceptions.ConnectionError, OSError) as exc:
        raise ConnectionError(f"redis destination: cannot write {stream!r} at "
                              f"{safe_url(url)}: {exc}") from None
    finally:
        await client.aclose()
    return Published(f"{safe_url(url)} stream {stream}", count)
