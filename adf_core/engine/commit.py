"""Commit together: the destinations of one stage commit only once all of them can.

Without it, ``--dest file,db`` could rename the file and then see the table fail on its last
record: the run fails, yet the file is there. A destination wraps its write in
``commit_group(...)`` and calls ``ready()`` right before its commit (rename, COMMIT,
upload). ``ready()`` returns once every other member of its stage has finished or is ready
to commit too, and raises ``RunAborted`` as soon as any component of the run has failed or
was cancelled, so that the engine reports the original error and nothing is committed.

The engine knows every member of the stage, including those that have not started yet, so
none is missed, unless a limit (``max_threads``, ``max_concurrency``) keeps it from starting
while this one holds a thread or slot: then waiting would hang the run, and it is not waited
for. Members that share a ``resource`` (one SQLite file, say) do not wait for
each other: one may be blocked on a lock that the other holds until it commits. A failure
during the commits themselves cannot be undone: there is no two-phase commit across a file
system, a database and an object store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from adf_core.engine.run_info import current_component, current_run

_SETTLED = frozenset({"finished"})
_WAITING_FOR_A_SLOT = frozenset({"pending", "queued"})
# The engine wakes waiting gates whenever a component settles; this bound only guards
# against a change no status records (a queued peer that starts running).
_RECHECK_S = 0.5


@contextmanager
def commit_group(what: str, resource: str | None = None) -> Iterator[Callable[[], None]]:
    """Yield ``ready()``: call it right before committing ``what``; it returns when the commit
    may go, or raises ``RunAborted``. Call it from a sync component (it waits in its thread).
    """
    run = current_run()
    me = current_component()
    if run is None or me is None:
        yield _no_wait
        return
    gates = run.gates
    gates[me] = (False, resource)

    def settled(peer: str) -> bool:
        status = run.statuses.get(peer)
        if status in _SETTLED:
            return True
        if status in _WAITING_FOR_A_SLOT and not run.can_start():
            return True  # it waits for a thread or slot that we may hold: waiting would hang
        at_gate, peer_resource = gates.get(peer, (False, None))
        return at_gate or (resource is not None and peer_resource == resource)

    def ready() -> None:
        if threading.current_thread() is threading.main_thread() and _on_loop():
            raise RuntimeError("commit_group().ready() waits: call it from a sync component")
        peers = [peer for peer in run.peers.get(me, ()) if peer != me]
        if run.rejects is not None:  # its input is complete: a fractional budget holds now
            run.rejects.check_budget(me)
        with run.changed:
            gates[me] = (True, resource)
            run.changed.notify_all()  # peers waiting for us to be ready
            while True:
                run.raise_if_failed(what)
                if all(settled(peer) for peer in peers):
                    return
                run.changed.wait(_RECHECK_S)

    try:
        yield ready
    finally:
        with run.changed:
            gates.pop(me, None)
            run.changed.notify_all()


def _no_wait() -> None:
    return None


def _on_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
