"""What a component may ask about the run it is part of (run id, flow, start time)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    """The run a component executes in; ``counts`` fills in as components finish."""

    run_id: str
    flow: str
    started_at: float
    counts: dict[str, int] = field(default_factory=dict, compare=False)
    #: alias -> pending, running, retrying, finished, failed or cancelled
    statuses: dict[str, str] = field(default_factory=dict, compare=False)
    #: alias -> the other members of its stage (for ``adf_core.engine.commit.commit_group``)
    peers: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    #: alias -> (waiting to commit, resource), kept by ``commit_group``
    gates: dict[str, tuple[bool, str | None]] = field(default_factory=dict, compare=False)
    #: whether a pending or queued component could start now (no limit is exhausted)
    can_start: Callable[[], bool] = field(default=lambda: True, compare=False)
    #: records produced so far by each streaming component, while the run goes on
    progress: Callable[[], dict[str, int]] = field(default=dict, compare=False)
    #: notified when a component settles (finishes, fails, retries, is cancelled) while any
    #: destination waits at a commit gate
    changed: threading.Condition = field(default_factory=threading.Condition, compare=False)
    #: the run's bad records (``adf_core.engine.rejects.RunRejects``), for ``reject()``
    rejects: Any = field(default=None, compare=False)
    #: the run's data warnings (``adf_core.engine.data_warnings.RunWarnings``), for ``warn()``
    warnings: Any = field(default=None, compare=False)
    #: the saved states of the run's components (``adf_core.engine.saved_state.RunStates``)
    states: Any = field(default=None, compare=False)
    #: the run's acknowledgements (``adf_core.engine.acks.AckBook``), for ``adf_core.acks``
    acks: Any = field(default=None, compare=False)
    #: hides the run's secrets (URL passwords, secret options, credential headers, secret
    #: params) in a text: what an observer applies before anything leaves the process
    redact: Callable[[str], str] = field(default=lambda text: text, compare=False)
    #: alias -> what an observer may know of a component, see ``component()``
    describe: Callable[[str], dict[str, Any]] = field(default=lambda alias: {}, compare=False)

    def component(self, alias: str) -> dict[str, Any]:
        """What observers may know of a component: ``name`` (registered or callable),
        ``kind`` (source, transform, destination or after_run), ``stage``, ``executor`` and
        its ``options`` with every secret masked. Empty for an unknown alias."""
        return self.describe(alias)

    def settle(self, alias: str, status: str) -> None:
        """Record a status that a waiting commit gate must see, and wake the gates."""
        self.statuses[alias] = status
        if self.acks is not None and self.acks.pending:
            self.acks.settle()
        if self.gates:
            with self.changed:
                self.changed.notify_all()

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


_component: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "adf_current_component", default=None
)


def current_component() -> str | None:
    """The alias of the calling sync component (in its thread), or None elsewhere."""
    return _component.get()


def set_current_component(alias: str | None) -> contextvars.Token[str | None]:
    return _component.set(alias)


_active: dict[str, RunInfo] = {}


def active_run(run_id: str) -> RunInfo | None:
    """A run of this process that is still going, by id (for live views of progress)."""
    return _active.get(run_id)


def register_run(info: RunInfo) -> None:
    _active[info.run_id] = info


def unregister_run(info: RunInfo) -> None:
    _active.pop(info.run_id, None)


def current_run() -> RunInfo | None:
    """The run of the calling component (async or in a worker thread), or None outside a run."""
    return _current.get()


def set_current_run(info: RunInfo | None) -> contextvars.Token[RunInfo | None]:
    return _current.set(info)


def reset_current_run(token: contextvars.Token[RunInfo | None]) -> None:
    _current.reset(token)
