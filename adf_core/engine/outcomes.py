"""How the failures of a run become the one error it raises.

Every simultaneous failure is kept (``ComponentError.errors``); errors that are only the
consequence of another failure (a ``RunAborted`` in their chain) are not reported as failures
of their own; a cancellation from outside stays a cancellation.
"""

from __future__ import annotations

import asyncio

from adf_core.engine.plan import Plan
from adf_core.errors import ComponentError, RunAborted


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is anywhere in the cause or context chain of ``exc``."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def cancelling() -> bool:
    """The current task has been asked to cancel (from outside, or by its task group)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def flatten(group: BaseException) -> list[BaseException]:
    """The leaves of nested exception groups."""
    if isinstance(group, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in group.exceptions:
            found.extend(flatten(inner))
        return found
    return [group]


def pick_error(plan: Plan, errors: list[BaseException]) -> BaseException:
    """The error a failed run raises: the first primary failure in definition order, with
    the other failures attached; a cancellation when only consequences remain."""
    real = [e for e in errors if not isinstance(e, asyncio.CancelledError)]
    primary = [e for e in real if not caused_by(e, RunAborted)]
    if not primary:
        # Only readers of aborted streams failed: the streams were aborted by a cancellation
        # (a failing producer would itself be a primary error). Cancellation is the outcome.
        return asyncio.CancelledError()
    order = {c.alias: i for i, c in enumerate(plan.components)}

    def rank(error: BaseException) -> int:
        return order.get(getattr(error, "component", ""), len(order))

    primary.sort(key=rank)
    first = primary[0]
    others = primary[1:]
    if isinstance(first, ComponentError):
        first.with_siblings([e for e in others if isinstance(e, ComponentError)])
    for other in others:
        if not isinstance(other, ComponentError) or not isinstance(first, ComponentError):
            first.add_note(f"also failed: {type(other).__name__}: {other}")
    return first
