"""SIGTERM/SIGINT in a continuous run (a source acknowledges after commit) drain it: the
sources stop consuming, the destinations commit what is in flight, the sources acknowledge
it, and ``adf`` exits 0. A batch run keeps the cancelling behaviour of ``signals``.
"""

from __future__ import annotations


def try_drain(run_id: str | None) -> bool:
    """Ask the run ``run_id`` of this process to drain; False when it is not continuous (or
    not running), so that the caller cancels it instead. Safe in a signal handler."""
    from adf_core.engine.run_info import active_run

    run = active_run(run_id) if run_id else None
    book = getattr(run, "acks", None)
    if book is None or not book.continuous:
        return False
    book.drain.set()
    book.soon.set()
    return True
