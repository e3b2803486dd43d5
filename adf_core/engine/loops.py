"""How ``DataFlow.run`` runs a flow from synchronous code.

- With no event loop running in this thread (a script, the ``adf`` command): a new loop of
  its own, with eager task start on Python 3.12+ (a task runs until its first suspension
  when it is created, so components that finish without waiting never pay for a round
  through the scheduler; ``benchmarks/overhead.py`` measures it). ``ADF_EAGER_START=0``
  turns it off.
- Inside a running event loop (a Jupyter notebook, an async web handler calling sync code):
  ``asyncio.run`` would refuse, so the flow runs on a new loop in a helper thread, and the
  calling thread waits for it. An interrupt (Ctrl-C in the notebook) cancels the flow, which
  then ends as any cancelled flow does.

``await flow(params)`` always runs on the caller's loop, whose task factory is the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def eager_start_enabled() -> bool:
    """Eager task start is available (3.12+) and not turned off by ``ADF_EAGER_START=0``."""
    if sys.version_info < (3, 12):
        return False
    return os.environ.get("ADF_EAGER_START", "1").strip().lower() not in ("0", "false", "no")


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop (from the current policy), with eager task start where enabled."""
    loop = asyncio.new_event_loop()
    if eager_start_enabled():
        loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined,unused-ignore]
    return loop


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to its end from synchronous code, and return its result."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            return runner.run(make())
    return _run_in_helper_thread(make)


def _run_in_helper_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    outcome: dict[str, Any] = {}
    started = threading.Event()
    finished = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> T:
        state["loop"] = asyncio.get_running_loop()
        state["task"] = asyncio.current_task()
        started.set()
        return await make()

    def target() -> None:
        try:
            with asyncio.Runner(loop_factory=new_loop) as runner:
                outcome["value"] = runner.run(main())
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            started.set()
            finished.set()

    def cancel_flow() -> None:
        started.wait()
        loop, task = state.get("loop"), state.get("task")
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: run over
                loop.call_soon_threadsafe(task.cancel)

    # The caller's task (when called from a coroutine): asyncio.run's own Ctrl-C handler
    # cancels it instead of raising, so a cancel request there cancels the flow too.
    caller = asyncio.current_task()
    context = contextvars.copy_context()  # the caller's context variables reach the flow
    thread = threading.Thread(target=context.run, args=(target,), name="adf-flow-run",
                              daemon=True)
    thread.start()
    cancelled = False
    # Waiting on an Event, not Thread.join: on 3.12 a KeyboardInterrupt inside join() can
    # mark a live thread as stopped, and the flow would be left running.
    try:
        while not finished.wait(0.05):
            if not cancelled and caller is not None and caller.cancelling():
                cancelled = True
                cancel_flow()
    except BaseException:
        # Interrupted while waiting (KeyboardInterrupt in a notebook): cancel the flow and
        # wait for its end, so that no component is left running behind the caller's back.
        # A second interrupt leaves at once.
        cancel_flow()
        finished.wait()
        raise
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
