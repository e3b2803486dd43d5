"""A sample executor plugin: ``serial`` runs sync components one at a time, in one thread,
and refuses components whose name starts with ``unsafe_``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core import hookimpl
from adf_core.executors import ThreadExecutor


class SerialExecutor(ThreadExecutor):
    name = "serial"

    def __init__(self, **settings: Any) -> None:
        super().__init__(**{**settings, "max_workers": 1})

    @staticmethod
    def check_component(fn: Callable[..., Any]) -> str | None:
        if getattr(fn, "__name__", "").startswith("unsafe_"):
            return "the serial executor refuses unsafe_ components"
        return None


@hookimpl
def adf_executors() -> dict[str, Callable[..., Any]]:
    return {"serial": SerialExecutor}
