"""The engine's TaskGroup restores the parent's cancellation count on every Python version.

Python 3.11 and 3.12's ``asyncio.TaskGroup`` leaves a phantom cancellation on its parent when
a child fails while ``__aexit__`` waits (CPython gh-116720, fixed in 3.13); the runner would
then take a component failure for a cancel from outside. These tests fail on 3.12 with a
version check that switched the fix off for ``>= 3.12``.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from adf_core import ComponentError, DataFlow
from adf_core.engine.taskgroups import TaskGroup, has_phantom_cancel_bug

ADF_CORE = Path(__file__).resolve().parents[2] / "adf_core"


class Boom(Exception):
    pass


async def fail_late(delay: float = 0.01) -> None:
    await asyncio.sleep(delay)  # the parent is waiting in __aexit__ by then
    raise Boom


async def count_after_group(group_type: type[asyncio.TaskGroup]) -> int:
    with pytest.raises(ExceptionGroup):
        async with group_type() as tg:
            tg.create_task(fail_late())
            tg.create_task(asyncio.sleep(1))
    task = asyncio.current_task()
    assert task is not None
    return task.cancelling()


def test_a_child_failing_during_exit_leaves_no_phantom_cancellation() -> None:
    assert asyncio.run(count_after_group(TaskGroup)) == 0


def test_the_probe_matches_the_stdlib_behaviour() -> None:
    async def main() -> tuple[bool, int]:
        return await has_phantom_cancel_bug(), await count_after_group(asyncio.TaskGroup)

    bug, stdlib_count = asyncio.run(main())
    assert bug == (stdlib_count > 0)


def test_a_failure_before_exit_is_undone_once() -> None:
    async def main() -> int:
        with pytest.raises(ExceptionGroup):
            async with TaskGroup() as tg:
                tg.create_task(fail_late(0))
                await asyncio.sleep(1)  # cancelled by the group when the child fails
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    assert asyncio.run(main()) == 0


def test_an_outside_cancel_during_exit_stays_a_cancellation() -> None:
    """A cancel from outside keeps its count, even when a child then fails while cancelled."""
    async def child() -> None:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            raise Boom from None  # fails because it was cancelled

    async def parent() -> int:
        try:
            async with TaskGroup() as tg:
                tg.create_task(child())
        except BaseExceptionGroup:
            pass
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    async def main() -> int | str:
        task = asyncio.ensure_future(parent())
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            return "cancelled"  # 3.13 re-arms the outside cancel after the group

    assert asyncio.run(main()) in (1, "cancelled")


def test_nested_groups_with_late_failures() -> None:
    async def inner() -> None:
        async with TaskGroup() as tg:
            tg.create_task(fail_late(0.02))

    async def main() -> int:
        with pytest.raises(BaseExceptionGroup):
            async with TaskGroup() as tg:
                tg.create_task(inner())
                tg.create_task(fail_late(0.04))
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    assert asyncio.run(main()) == 0


def test_a_late_component_failure_is_reported_as_a_failure_not_a_cancellation() -> None:
    """The flow-level symptom: the failing component's error, not CancelledError."""
    async def slow_ok() -> dict:
        await asyncio.sleep(0.05)
        return {"ok": 1}

    async def late_failure() -> None:
        await asyncio.sleep(0.01)
        raise Boom("late")

    flow = DataFlow(((slow_ok, late_failure),))

    async def main() -> None:
        with pytest.raises(ComponentError) as caught:
            await flow({})
        assert caught.value.component == "late_failure"
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0)  # and the caller goes on normally

    asyncio.run(main())


def _asyncio_private_names() -> set[str]:
    names: set[str] = set()
    for cls in (asyncio.Task, asyncio.Future, asyncio.TaskGroup, asyncio.Timeout,
                asyncio.BaseEventLoop, asyncio.Runner, asyncio.Queue, asyncio.Event,
                asyncio.Semaphore, asyncio.Lock, asyncio.Condition):
        names.update(n for n in dir(cls) if n.startswith("_") and not n.endswith("__"))

    async def instance_names() -> set[str]:
        found: set[str] = set()
        for obj in (asyncio.TaskGroup(), asyncio.Queue(), asyncio.Semaphore(), asyncio.Event()):
            found.update(n for n in vars(obj) if n.startswith("_"))
        found.update(n for n in vars(asyncio.get_running_loop()) if n.startswith("_"))
        return found

    names |= asyncio.run(instance_names())
    # Python's pure-Python Task and Future spell out the C implementation's private state.
    names.update({"_parent_task", "_parent_cancel_requested", "_must_cancel", "_fut_waiter",
                  "_num_cancels_requested", "_coro", "_state", "_callbacks", "_aborting",
                  "_on_completed_fut", "_tasks", "_errors", "_base_error", "_exiting"})
    return names


def _subclasses_asyncio(node: ast.ClassDef) -> bool:
    return any(isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
               and base.value.id == "asyncio" for base in node.bases)


def private_reads(tree: ast.AST, private: set[str]) -> list[int]:
    """Lines reading one of asyncio's private names: on any object, or on ``self`` inside a
    subclass of an asyncio class (where ``self._x`` is asyncio's own state)."""
    found: list[int] = []

    def visit(node: ast.AST, in_asyncio_subclass: bool) -> None:
        if isinstance(node, ast.ClassDef):
            in_asyncio_subclass = _subclasses_asyncio(node)
        if isinstance(node, ast.Attribute) and node.attr in private:
            on_self = isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}
            if not on_self or in_asyncio_subclass:
                found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_asyncio_subclass)

    visit(tree, False)
    return found


def test_the_private_attribute_scan_finds_the_old_fix() -> None:
    """The scan would have refused the version-gated fix that read TaskGroup internals."""
    old = """
import asyncio
class TaskGroup(asyncio.TaskGroup):
    async def __aexit__(self, et, exc, tb):
        requested_before = self._parent_cancel_requested
        self._parent_task.uncancel()
class Buffer:
    def __init__(self, loop):
        self._loop = loop
"""
    assert private_reads(ast.parse(old), _asyncio_private_names()) == [5, 6]


def test_no_code_reads_private_attributes_of_asyncio_objects() -> None:
    """Issue 15: the engine must not depend on asyncio internals that change across versions.

    Our own objects may use underscore names on ``self``; reading one of asyncio's private
    names on anything else, or on ``self`` in a subclass of an asyncio class, is refused."""
    private = _asyncio_private_names()
    found = []
    for path in sorted(ADF_CORE.rglob("*.py")):
        for line in private_reads(ast.parse(path.read_text(), str(path)), private):
            found.append(f"{path.relative_to(ADF_CORE.parent)}:{line}")
    assert not found, "private asyncio attributes read:\n" + "\n".join(found)
