"""Broker messages as records, for plugin authors (DESIGN 15): one JSON object per message.

What every broker plugin does the same way lives here once: ``encode`` a record as the bytes
of one message, ``decode`` one message, ``decode_messages`` a chunk of them (a message that is
not a JSON object goes to the bad-record policy of DESIGN 12, numbered within the run), and
``items`` of a destination's input, a stream or a dataset handed whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from adf_core.data.encoding import json_default
from adf_core.engine.reporting import reject

#: a record as the bytes of one message (decimals, dates and bytes as JSON has them)
encode = json.JSONEncoder(default=json_default, ensure_ascii=False).encode


def decode(body: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """``(record, None)`` for a JSON object, ``(None, why)`` for anything else."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"not a JSON object but a {type(value).__name__}"
    return value, None


def decode_messages(bodies: Iterable[bytes | str], before: int, input: str
                    ) -> list[dict[str, Any]]:
    """The records of a chunk of message bodies. ``before`` messages came earlier in the run:
    a bad one is rejected as ``message N`` (position ``{"message": N}``) of ``input``."""
    records = []
    for number, body in enumerate(bodies, before + 1):
        record, error = decode(body)
        if record is None:
            reject(body, f"message {number}: {error}", position={"message": number},
                   input=input)
        else:
            records.append(record)
    return records


@dataclass(frozen=True)
class Published:
    """What a broker destination published (stored under its alias)."""

    target: str
    records: int


async def items(data: Any) -> AsyncIterator[Any]:
    """The items of a stream (async) or of a dataset handed whole."""
    if hasattr(data, "__anext__"):
        async for item in data:
            yield item
    else:
        yield data


__all__ = ["Published", "decode", "decode_messages", "encode", "items"]
