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

    def failed(self) -> list[str]:
        """Aliases of the components that have failed (or were cancelled) so far in this run."""
        return [alias for alias, status in list(self.statuses.items())
                if status in ("failed", "cancelled")]

    def raise_if_failed(self, what: str) -> None:
        """Call right before a commit: raise ``RunAborted`` if another component failed.

        The engine then reports that component's error, and this one as its consequence.
        """
        failed = self.failed()
        if failed:
            from adf_core.errors import RunAborted

            names = ", ".join(repr(alias) for alias in failed)
            raise RunAborted(f"{what} was not committed because {names} failed in this run")


_current: contextvars.ContextVar[RunInfo | None] = contextvars.ContextVar(
    "adf_current_run", default=None
)


def current_run() -> RunInfo | None:
    """The run of the calling component (async or in a worker thread), or None outside a run."""
    return _current.get()


def set_current_run(info: RunInfo | None) -> contextvars.Token[RunInfo | None]:
    return _current.set(info)
