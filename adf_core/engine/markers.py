"""What a component declares about how the engine runs it, read by attribute.

``adf_core.component(after_run=True, in_process=True, routes=True, secrets=[...])`` (in the
plugin layer) sets these attributes; the engine reads them here without importing the plugin layer.

- ``after_run``: the component runs once the rest of the flow has ended and every commit has
  settled, on success and on failure, and receives the run's ``report``.
- ``in_process``: the component must run in this process (it joins a commit group, writes to
  this process's stdout, streams, or moves records that would cost more to pickle than to
  process): under a flow-wide executor that leaves the process it stays on threads.
- ``routes``: the component returns groups of records under context keys (``split``); a
  group that no later component reads is a data warning.
- ``secrets``: the options whose values are secrets although their names do not say so
  (hidden in the run report, dead letters and every message).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from adf_core.engine.steps import Step

AFTER_RUN = "__adf_after_run__"
IN_PROCESS = "__adf_in_process__"
ROUTES = "__adf_routes__"
SECRETS = "__adf_secrets__"


def marked(fn: Any, attribute: str) -> Any:
    """``attribute`` on ``fn`` or what it wraps: a ``Step``'s callable, partials,
    ``functools.wraps`` chains (read once per component when a flow is built); None when
    nothing in the chain has it."""
    target: Any = fn
    for _ in range(32):  # a chain of wrappers, never a cycle
        if isinstance(target, Step):
            target = target.fn
            continue
        try:
            value = getattr(target, attribute, None)
        except Exception:  # an object whose __getattr__ raises something odd
            value = None
        if value is not None:
            return value
        if isinstance(target, functools.partial):
            target = target.func
            continue
        target = getattr(target, "__wrapped__", None)
        if target is None:
            return None
    return None


def _flag(fn: Callable[..., Any], attribute: str) -> bool:
    return bool(marked(fn, attribute))


def is_after_run(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is declared ``component(after_run=True)``."""
    return _flag(fn, AFTER_RUN)


def is_in_process(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is declared ``component(in_process=True)``."""
    return _flag(fn, IN_PROCESS)


def declares_routes(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is declared ``component(routes=True)``."""
    return _flag(fn, ROUTES)


def declared_secrets(fn: Callable[..., Any]) -> frozenset[str]:
    """The options ``component(secrets=[...])`` declared secret on ``fn``."""
    names = marked(fn, SECRETS)
    return frozenset(names) if names else frozenset()
