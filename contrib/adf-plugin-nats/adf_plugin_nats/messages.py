"""Messages and records: one JSON object per message, both ways."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from adf_core.records import json_default

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
