"""A sample plugin whose hook raises when called."""

from __future__ import annotations

from typing import Any

from adf_core import hookimpl


@hookimpl
def adf_transforms() -> dict[str, Any]:
    raise RuntimeError("cannot list transforms")
