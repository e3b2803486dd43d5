"""How values are written as text: JSON for records (decimals, dates, bytes), CSV cells.

Every writer (the ``file`` and ``stdout`` built-ins, ``adf-plugin-s3``) uses these, so one
record reads the same wherever it was written.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import sys
from collections.abc import Callable
from typing import Any


def json_default(value: Any) -> Any:
    """Encode what JSON has no type for: decimals as numbers, dates as ISO 8601, bytes as base64.

    Every built-in writer and the s3 plugin use it, so one record reads the same everywhere.
    """
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    uuid = sys.modules.get("uuid")  # not imported here: if it is not loaded, no value is a UUID
    if uuid is not None and isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One encoder for every record: json.dumps with arguments builds a new encoder on each call.
# NaN and infinities are not JSON: a record holding one cannot be written (a ValueError).
dumps: Callable[[Any], str] = json.JSONEncoder(default=json_default, ensure_ascii=False,
                                               allow_nan=False).encode


# CSV cells ----------------------------------------------------------------------------------

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(
    r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z|[-+]?[0-9]+[eE][-+]?[0-9]+\Z"
)


def csv_value(text: str) -> Any:
    """A CSV cell as a reader of records expects it: numbers become int or float, an empty
    cell None, anything else stays text. Every CSV reader uses it, so one file reads the same
    from disk and from S3."""
    if text == "":
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text
