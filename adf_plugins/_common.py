"""Helpers shared by the built-in components (URLs without secrets, run status)."""


from __future__ import annotations

from dataclasses import dataclass

from adf_core.records import dumps as dumps
from adf_core.records import json_default as json_default


@dataclass(frozen=True)
class Written:
    """What a destination wrote (stored under its alias: not a dict, so nothing is merged)."""

    target: str
    records: int




def safe_url(url: str) -> str:
    """``url`` with its password (``/``, ``?`` or ``#`` in it too, as SQLAlchemy accepts)
    and secret query parameters replaced by ``***`` (for messages and logs)."""
    from adf_core.observe.secrets import redact_url

    return redact_url(str(url))


def failed_components() -> list[str]:
    """Aliases the engine reports as failed in the current run (empty outside a run)."""
    from adf_core import current_run

    run = current_run()
    return [] if run is None else list(run.failed())


def abort_if_run_failed(what: str) -> None:
    """Call right before a commit: raise ``RunAborted`` if another component already failed.

    The engine reports that component's error, and this one as its consequence.
    """
    from adf_core import current_run

    run = current_run()
    if run is not None:
        run.raise_if_failed(what)
