"""Commit together: the built-in destinations of one run commit only once all are ready.

Without it, `--dest file,db` could rename the file and then see the table fail on its last
record: the run fails, yet the file is there. Each `file` and `db` destination registers
while it writes; when it is ready to commit it waits until every other registered destination
of the run is ready too, then commits; when the engine marks a component of the run failed
or cancelled it raises ``RunAborted`` instead, so that the engine reports the original error.
A destination whose attempt failed holds the others back for a few seconds, the time for the
engine to either retry it (the retry registers again) or mark it failed.

Only destinations that are already running are waited for (they hold a thread and make
progress), so a bounded thread pool cannot deadlock on this; and destinations that share a
``resource`` (one SQLite file, one table) do not wait for each other, as one may be blocked on
a lock the other holds until it commits. A failure during the commits
themselves (after the rename) cannot be undone: there is no two-phase commit across a file
system and a database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WRITING, READY, FAILED = "writing", "ready", "failed"
_changed = threading.Condition()
_runs: dict[str, dict[object, str]] = {}
_resources: dict[object, str | None] = {}
_failed_at: dict[object, float] = {}
_RECHECK_S = 0.1  # how often a waiting destination looks at components outside this group
# A destination that failed may be retried by the engine, which marks it failed only when it
# gives up: wait this long for either before committing beside a failed attempt.
_RETRY_GRACE_S = 5.0


@contextmanager
def commit_group(what: str, resource: str | None = None) -> Iterator[Callable[[], None]]:
    """Yield ``ready()``: call it right before the commit; it returns when the commit may go.

    ``ready()`` raises ``RunAborted`` (through ``current_run().raise_if_failed``) when another
    component of the run failed; a destination that shares ``resource`` is not waited for.
    """
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

    def recent_failure() -> bool:
        now = time.monotonic()
        return any(
            state == FAILED and now - _failed_at.get(other, 0.0) < _RETRY_GRACE_S
            for other, state in states.items()
        )

    def ready() -> None:
        with _changed:
            states[token] = READY
            _changed.notify_all()
            while not run.failed() and (others_writing() or recent_failure()):
                _changed.wait(_RECHECK_S)
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
                _failed_at[token] = time.monotonic()
            else:
                del states[token]
            if all(state == FAILED for state in states.values()):
                for other in states:
                    _failed_at.pop(other, None)
                _runs.pop(run.run_id, None)
            _changed.notify_all()
