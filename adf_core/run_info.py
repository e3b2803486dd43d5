"""What a component may ask about the run it is part of (run id, flow, start time)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunInfo:
    """The run a component executes in; ``counts`` fills in as components finish."""

    run_id: str
    flow: str
    started_at: float
    counts: dict[str, int] = field(default_factory=dict, compare=False)
    statuses: dict[str, str] = field(default_factory=dict, compare=False)


_current: contextvars.ContextVar[RunInfo | None] = contextvars.ContextVar(
    "adf_current_run", default=None
)


def current_run() -> RunInfo | None:
    """The run of the calling component (async or in a worker thread), or None outside a run."""
    return _current.get()


def set_current_run(info: RunInfo | None) -> contextvars.Token[RunInfo | None]:
    return _current.set(info)
