"""A plugin whose hooks mix good components with a non-string name and non-callables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from adf_core import hookimpl


def tally() -> dict[str, list[dict[str, int]]]:
    """A good source; it leaves a mark (SLOPPY_MARK) so a test can tell that it ran."""
    mark = os.environ.get("SLOPPY_MARK")
    if mark:
        Path(mark).write_text("tally ran")
    return {"tally": [{"n": 1}, {"n": 2}]}


def sink(upstream: dict[str, Any], path: str) -> int:
    """A good destination: writes how many inputs it got."""
    Path(path).write_text(str(len(upstream)))
    return len(upstream)


class Reader:
    """A class: calling it builds a Reader, it does not read anything."""

    def __call__(self) -> list[dict[str, int]]:
        return []


class Settings:
    """A class whose instances are not callable."""


@hookimpl
def adf_sources() -> dict[Any, Any]:
    return {"tally": tally, 42: tally, "answer": 42, "reader": Reader, "settings": Settings}


@hookimpl
def adf_destinations() -> dict[str, Any]:
    return {"sink": sink}
