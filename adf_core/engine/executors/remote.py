"""What executors that leave this process share: where to find workers, how many to start,
and whether a component and its arguments can travel."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

#: The environment variable read when no executor address is given.
ADDRESS_ENV = "ADF_EXECUTOR_ADDRESS"
#: How many worker processes the ``processes`` executor and a local Dask cluster start.
WORKERS_ENV = "ADF_EXECUTOR_WORKERS"


def executor_address(address: str | None) -> str | None:
    """``address``, else ``$ADF_EXECUTOR_ADDRESS``, else None (start something local)."""
    return address or os.environ.get(ADDRESS_ENV) or None


def worker_count() -> int:
    """Worker processes for a local pool or cluster: ``$ADF_EXECUTOR_WORKERS``, else the
    CPUs this process may use (CPU-bound work gains nothing from more)."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f"{WORKERS_ENV} must be an integer >= 1, got {text!r}")
        return count
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def pickle_problem(fn: Callable[..., Any], dumps: Callable[[Any], bytes], where: str,
                   hint: str) -> str | None:
    """Why ``fn`` cannot be sent to ``where`` (None when ``dumps(fn)`` works)."""
    try:
        dumps(fn)
    except Exception as exc:
        return (f"it must pickle to run in {where}, and it does not "
                f"({type(exc).__name__}: {exc}); {hint}")
    return None


def portable(args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Arguments that pickle: the read-only ``context`` mapping becomes a plain dict, without
    the handles of streams (only the stage right after a stream reads it, in this process)."""
    from adf_core.engine.streams import Stream

    def plain(value: Any) -> Any:
        if isinstance(value, MappingProxyType):
            return {k: v for k, v in value.items() if not isinstance(v, Stream)}
        return value

    return [plain(v) for v in args], {k: plain(v) for k, v in kwargs.items()}
