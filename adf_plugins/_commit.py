"""Commit together: the built-in destinations of one run commit only once all are ready.

Without it, `--dest file,db` could rename the file and then see the table fail on its last
record: the run fails, yet the file is there. Each `file` and `db` destination registers
while it writes; when it is ready to commit it waits until every other registered destination
of the run is ready too (or one failed, or the engine marked a component failed or
cancelled), then commits, or raises ``RunAborted`` so that the engine reports the original
error. Only destinations that are already running are waited for (they hold a thread and make
progress), so a bounded thread pool cannot deadlock on this; and destinations that share a
``resource`` (one SQLite file, one table) do not wait for each other, as one may be blocked on
a lock the other holds until it commits. A failure during the commits
themselves (after the rename) cannot be undone: there is no two-phase commit across a file
system and a database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WRITING, READY, FAILED = "writing", "ready", "failed"
_changed = threading.Condition()
_runs: dict[str, dict[object, str]] = {}
_resources: dict[object, str | None] = {}
_RECHECK_S = 0.1  # how often a waiting destination looks at components outside this group


@contextmanager
def commit_group(what: str, resource: str | None = None) -> Iterator[Callable[[], None]]:
    """Yield ``ready()``: call it right before the commit; it returns when the commit may go."""
    from adf_core.run_info import current_run

    run = current_run()
    if run is None:
        yield lambda: None
        return
    token = object()
    with _changed:
        states = _runs.setdefault(run.run_id, {})
        states[token] = WRITING
        _resources[token] = resource

    def others_writing() -> bool:
        return any(
            state == WRITING and (resource is None or _resources.get(other) != resource)
            for other, state in states.items()
        )

    def ready() -> None:
        with _changed:
            states[token] = READY
            _changed.notify_all()
            while others_writing() and FAILED not in states.values():
                if run.failed():
                    break
                _changed.wait(_RECHECK_S)
            if FAILED in states.values() and not run.failed():
                from adf_core.errors import RunAborted

                raise RunAborted(f"{what} was not committed because another destination failed")
        run.raise_if_failed(what)

    failed = True
    try:
        yield ready
        failed = False
    finally:
        with _changed:
            _resources.pop(token, None)
            if failed:
                states[token] = FAILED
            else:
                del states[token]
            if not states or all(state == FAILED for state in states.values()):
                _runs.pop(run.run_id, None)
            _changed.notify_all()
