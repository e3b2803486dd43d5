"""A sample plugin that registers a source name another plugin already has."""

from __future__ import annotations

from typing import Any

from adf_core import hookimpl


def numbers() -> list[int]:
    return [1]


@hookimpl
def adf_sources() -> dict[str, Any]:
    return {"numbers": numbers}
