"""The ``redis`` source: read a Redis stream through a consumer group, acknowledging (XACK)
each entry only after every destination that received it has committed it (DESIGN 15).

A new group starts at the beginning of the stream. The source first reads what its consumer
had been delivered but never acknowledged (a run that was killed), then new entries.
Backpressure: it reads at most ``batch_size`` entries at a time and stops reading while
``prefetch`` entries wait for their acknowledgement, so memory stays flat. A dropped
connection is reopened with backoff; acknowledgements survive it (they name entry ids).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from adf_core import component
from adf_core.acks import acknowledges, commit_soon, finish, on_commit
from adf_core.messages import ReadWindow, decode
from adf_core.rejects import reject
from adf_plugin_redis.urls import safe_url

log = logging.getLogger("adf_plugin_redis")
_WAIT_MS = 50  # an idle read blocks this long before it looks at draining and idle_timeout
_BACKOFF_MAX_S = 5.0


async def _ensure_group(client: Any, stream: str, group: str) -> None:
    import redis.exceptions

    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.exceptions.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


@component
@acknowledges
async def redis_source(
    stream: str,
    group: str = "adf",
    consumer: str = "adf",
    url: str = "redis://127.0.0.1:6379/0",
    field: str = "data",
    prefetch: int = 5000,
    batch_size: int = 1000,
    max_messages: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Read a Redis stream through a consumer group: one JSON object per entry (in `field`),
    acknowledged (XACK) after commit.

    The stream and group are created when absent; a new group starts at the beginning of
    the stream. Runs until SIGTERM/SIGINT (which drain: commit and acknowledge what is in
    flight, exit 0), unless `max_messages` or `idle_timeout` ends it. An entry that is not a
    JSON object is a bad record (`--on-error`, `--dead-letter`), acknowledged once
    dead-lettered. Parallel consumers of one group need distinct `consumer` names.

    Args:
        stream: the stream key.
        group: the consumer group (created at the beginning of the stream).
        consumer: this consumer's name in the group (it reads its own pending entries first).
        url: Redis URL (redis://[:password@]host:port/db).
        field: the entry field holding the JSON record.
        prefetch: entries read but not yet acknowledged, at most (the memory bound).
        batch_size: entries per read at most.
        max_messages: stop after this many entries.
        idle_timeout: stop after this many seconds without an entry.
    """
    import redis.asyncio as aredis
    import redis.exceptions

    prefetch = max(int(prefetch), 1)
    batch_size = max(int(batch_size), 1)
    key = field.encode()
    client = aredis.Redis.from_url(url)
    window = ReadWindow(batch_size, max_messages, prefetch)
    # our own pending entries (delivered before a kill or a lost connection) come first,
    # paged by id; then new entries (">")
    cursor: str | None = "0"
    delay = 0.1
    idle = 0.0
    loop = asyncio.get_running_loop()

    async def ack(ids: list[bytes]) -> None:
        """XACK (idempotent: retried over a lost connection, or the entries would stay
        pending until the next run)."""
        for attempt in range(6):
            try:
                await client.xack(stream, group, *ids)
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    OSError):
                if attempt == 5:
                    raise
                await asyncio.sleep(0.1 * 2 ** attempt)
        window.acknowledged(len(ids))

    try:
        try:
            await _ensure_group(client, stream, group)
        except (redis.exceptions.ConnectionError, OSError) as exc:
            raise ConnectionError(f"redis source: cannot read {stream!r} at {safe_url(url)}: "
                                  f"{exc}") from None
        while count := await window.next_count():  # prefetch: the broker's backpressure
            started = loop.time()
            try:
                reply = await client.xreadgroup(group, consumer, {stream: cursor or ">"},
                                                count=count,
                                                block=None if cursor else _WAIT_MS)
                delay = 0.1
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    OSError) as exc:
                log.warning("redis source: reconnecting to %s in %.1fs: %s", safe_url(url),
                            delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
                cursor = "0"  # a reply lost with the connection left its entries pending
                continue
            entries = reply[0][1] if reply else []
            if cursor is not None:
                if not entries:
                    cursor = None
                    continue
                cursor = entries[-1][0].decode()
            elif not entries:
                idle += loop.time() - started
                commit_soon()  # nothing comes: destinations need not wait for commit_interval
                if idle_timeout is not None and idle >= idle_timeout:
                    break
                continue
            idle = 0.0
            records = []
            ids = []
            for entry_id, fields in entries:
                fields = fields or {}  # an entry deleted while it was pending
                ids.append(entry_id)
                body = fields.get(key)
                record, error = decode(body) if body is not None else (
                    None, f"no field {field!r} (fields: {', '.join(f.decode() for f in fields)})")
                if record is None:
                    reject(body if body is not None else {k.decode(): v.decode("utf-8", "replace")
                                                         for k, v in fields.items()},
                           f"entry {entry_id.decode()}: {error}",
                           position={"entry": entry_id.decode()}, input=stream)
                else:
                    records.append(record)
            window.read(len(ids))
            if records:
                yield records
            on_commit(lambda ids=ids: ack(ids))
        await finish()
    finally:
        await client.aclose()
