"""Helpers shared by the built-in components (JSON encoding, URLs without secrets, run status)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Written:
    """What a destination wrote (stored under its alias: not a dict, so nothing is merged)."""

    target: str
    records: int


def json_default(value: Any) -> Any:
    """Encode what JSON has no type for: decimals as numbers, dates as ISO 8601, bytes as base64."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One encoder for every record: json.dumps with arguments builds a new encoder on each call.
dumps: Callable[[Any], str] = json.JSONEncoder(default=json_default, ensure_ascii=False).encode


def safe_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def failed_components() -> list[str]:
    """Aliases the engine reports as failed in the current run (empty outside a run)."""
    from adf_core.run_info import current_run

    run = current_run()
    return [] if run is None else list(run.failed())


def abort_if_run_failed(what: str) -> None:
    """Call right before a commit: raise ``RunAborted`` if another component already failed.

    The engine reports that component's error, and this one as its consequence.
    """
    from adf_core.run_info import current_run

    run = current_run()
    if run is not None:
        run.raise_if_failed(what)
