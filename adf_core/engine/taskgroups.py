"""A TaskGroup that leaves no phantom cancellation behind, on every supported Python.

``asyncio.TaskGroup`` cancels its parent task when a child fails, and must ``uncancel()`` it
again on exit. Up to Python 3.12 it only does so when the child failed before ``__aexit__``
began waiting; a child that fails while ``__aexit__`` waits leaves the parent's
``cancelling()`` count at 1 (CPython gh-116720, fixed in 3.13). That phantom cancellation makes
a failure look like a cancel from outside (the runner asks ``cancelling()`` to tell them apart).

Whether this interpreter has the bug is decided by behaviour, once, not by version: a probe runs
a stdlib TaskGroup whose child fails while ``__aexit__`` waits, and reads ``cancelling()``
afterwards. Where the bug is present, :class:`TaskGroup` tells through public API only
(``cancelling()`` of the parent and of its children, ``done()``, ``exception()``) whether a
child failure made the group cancel its parent during ``__aexit__``, and then calls
``uncancel()`` once. Where it is absent (3.13+) the class adds nothing to the stdlib.

With eager task start (Python 3.12+'s ``asyncio.eager_task_factory``, which ``flow.run()``
uses, or any task factory a caller installed), a child runs inside ``create_task`` until it
first suspends. One that fails there would abort the group before its later siblings are even
created (``create_task`` then raises "TaskGroup is shutting down"), so that two members that
both fail at once would no longer both be reported. The group therefore lets a child that
fails before it ever suspended raise one loop iteration later, as it would without eager
start: every sibling is started, and every simultaneous failure is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

#: None until probed; then whether asyncio.TaskGroup leaves a phantom cancellation.
_phantom_cancel_bug: bool | None = None


class _ProbeError(Exception):
    pass


async def _probe_body() -> int:
    async def fail_after_exit_started() -> None:
        await asyncio.sleep(0)  # the parent is in __aexit__ by now
        raise _ProbeError

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail_after_exit_started())
    except* _ProbeError:
        pass
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


async def has_phantom_cancel_bug() -> bool:
    """Whether this interpreter's TaskGroup forgets ``uncancel()`` (probed once, in a task of
    its own so that a phantom count never touches the caller)."""
    global _phantom_cancel_bug
    if _phantom_cancel_bug is None:
        _phantom_cancel_bug = await asyncio.ensure_future(_probe_body()) > 0
    return _phantom_cancel_bug


class TaskGroup(asyncio.TaskGroup):
    """``asyncio.TaskGroup`` with the parent's cancellation count always restored on exit.

    On interpreters with the bug it keeps a list of its children (an append per child, no
    callback) and compares the parent's ``cancelling()`` before and after the stdlib's
    ``__aexit__``. The group cancelled its parent during the exit exactly when the count rose
    while a child failed on its own: one that ended with an exception without having been
    cancelled (an abort, from the body's exception, an earlier failure or a cancel from
    outside, cancels every running child first). Then that one cancel is undone.
    """

    def __init__(self) -> None:
        super().__init__()
        self._adf_children: list[asyncio.Task[Any]] | None = None  # kept where the bug is
        self._adf_defer = False

    async def __aenter__(self) -> TaskGroup:
        if _phantom_cancel_bug is None:
            await has_phantom_cancel_bug()
        if _phantom_cancel_bug:
            self._adf_children = []
        # Any task factory may start tasks eagerly (the stdlib's does): guard against it.
        self._adf_defer = asyncio.get_running_loop().get_task_factory() is not None
        await super().__aenter__()
        return self

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if self._adf_defer:
            started = _Started()
            task = super().create_task(_defer_early_failure(coro, started), **kwargs)
            started.returned = True
        else:
            task = super().create_task(coro, **kwargs)
        if self._adf_children is not None:
            self._adf_children.append(task)
        return task

    async def __aexit__(self, et: Any, exc: Any, tb: Any) -> Any:
        children = self._adf_children
        parent = asyncio.current_task()
        if children is None or parent is None or et is not None:
            # A body that raised (a cancellation included) makes the group abort before it
            # waits: it never cancels its parent during the exit.
            return await super().__aexit__(et, exc, tb)
        before = parent.cancelling()
        try:
            return await super().__aexit__(et, exc, tb)
        finally:
            if parent.cancelling() > before and any(map(_failed_on_its_own, children)):
                parent.uncancel()


def _failed_on_its_own(task: asyncio.Task[Any]) -> bool:
    return (task.done() and not task.cancelled() and task.exception() is not None
            and task.cancelling() == 0)


class _Started:
    """Whether ``create_task`` has returned: a child failing before then ran eagerly."""

    __slots__ = ("returned",)

    def __init__(self) -> None:
        self.returned = False


async def _defer_early_failure(coro: Any, started: _Started) -> Any:
    """Await ``coro``; if it fails while still being started eagerly inside ``create_task``,
    raise one loop iteration later (see the module docstring)."""
    try:
        return await coro
    except Exception:
        if not started.returned:
            # A sibling failing meanwhile cancels this wait: this component failed too, say so.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0)
        raise
