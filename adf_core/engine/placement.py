"""Where each sync component runs, decided before the run: the rules for executors that
leave this process (``processes``, ``dask``, plugin executors with ``remote = True``).

A component that cannot run in another process is refused by ``DataFlow(...)`` with its alias
and the reason, unless it declares ``component(in_process=True)`` (every built-in that must
stay here does) and its executor comes from the flow: then it stays on threads, and the plan
says so. A component cannot leave the process when it:

- streams (a generator) or reads a stream: streams stay in this process;
- joins a commit group (``commit_group`` coordinates the destinations of a stage here);
- keeps ``state`` (changes made to it in another process would never be saved);
- does not pickle (the executor's own ``check_component``).

Async components run on the event loop whatever the executor; after-run components run here.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from adf_core.engine.plan import Plan, PlannedComponent
from adf_core.errors import FlowDefinitionError

THREADS = "threads"


def place_components(plan: Plan) -> None:
    """Apply the rules to every component of ``plan``; raise ``FlowDefinitionError`` for a
    component that cannot run where it was asked to."""
    from adf_core.engine.executors import get_factory

    factories: dict[str, Any] = {}
    for name in sorted({c.executor for c in plan.components if not c.is_async}):
        try:
            factories[name] = get_factory(name)
        except LookupError as exc:
            raise FlowDefinitionError(str(exc)) from None
        except ImportError as exc:
            raise FlowDefinitionError(f"executor {name!r} is not available: {exc}") from None
    for component in plan.components:
        if component.is_async or component.executor == THREADS:
            continue
        factory = factories[component.executor]
        if getattr(factory, "remote", True):
            if component.after_run:
                component.executor_note = "stays in this process: after-run components run here"
                component.executor = THREADS
                continue
            reason = _must_stay(component)
            if reason is not None:
                if component.in_process and not component.executor_explicit:
                    component.executor_note = f"stays in this process: {reason}"
                    component.executor = THREADS
                    continue
                raise FlowDefinitionError(
                    f"component {component.alias!r} ({component.position}) cannot run on "
                    f"executor {component.executor!r}: {reason}; give it executor='threads' "
                    f"(step(..., executor='threads'), or [settings.{component.alias}] "
                    "executor = \"threads\" in a pipeline file), or declare it "
                    "adf_core.component(in_process=True)")
        check = getattr(factory, "check_component", None)
        problem = check(component.fn) if check is not None else None
        if problem:
            raise FlowDefinitionError(
                f"component {component.alias!r} ({component.position}) cannot run on executor "
                f"{component.executor!r}: {problem}")
    plan.executors = {c.executor for c in plan.components if not c.is_async}


def _must_stay(component: PlannedComponent) -> str | None:
    """Why ``component`` must run in this process (None: it may leave)."""
    if component.stream_inputs:
        producers = ", ".join(repr(p) for p in component.stream_inputs)
        return (f"it reads the stream of {producers}, and streams stay in this process "
                "(collect the stream in an earlier stage to send a list instead)")
    if component.streaming:
        return "it streams (a generator), and streams stay in this process"
    if component.in_process:
        return "it is declared in_process"
    if component.keeps_state:
        return ("it keeps state between runs, and changes made to `state` in another process "
                "would be lost")
    if joins_commit_group(component.fn):
        return ("it joins a commit group (commit_group), which coordinates the destinations "
                "of a stage inside this process")
    return None


def joins_commit_group(fn: Callable[..., Any]) -> bool:
    """Whether the code of ``fn`` (or a function nested in it) names ``commit_group``."""
    import functools

    target: Any = fn
    for _ in range(16):
        if isinstance(target, functools.partial):
            target = target.func
        elif hasattr(target, "__wrapped__"):
            target = target.__wrapped__
        else:
            break
    code = getattr(target, "__code__", None)
    if code is None:
        call = getattr(type(target), "__call__", None)
        code = getattr(call, "__code__", None)
    return code is not None and _names_commit_group(code)


def _names_commit_group(code: types.CodeType) -> bool:
    if "commit_group" in code.co_names:
        return True
    return any(isinstance(const, types.CodeType) and _names_commit_group(const)
               for const in code.co_consts)
