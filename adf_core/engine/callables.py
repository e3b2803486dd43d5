"""What kind of callable a component is, and its signature, analysed once per callable."""

from __future__ import annotations

import contextlib
import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any

ASYNC, SYNC, ASYNC_GEN, SYNC_GEN = "async", "sync", "async-generator", "generator"


def signature_of(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        try:
            return inspect.signature(fn)
        except (TypeError, ValueError):
            return inspect.Signature([inspect.Parameter(
                "kwargs", inspect.Parameter.VAR_KEYWORD)])
    except ValueError:
        return inspect.Signature([inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])


def call_kind(fn: Callable[..., Any]) -> str:
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isbuiltin(target)):
        call = getattr(type(target), "__call__", None)
        if call is not None and (inspect.isfunction(call) or inspect.ismethod(call)):
            target = call
    # A decorator made with functools.wraps keeps the kind of what it wraps.
    unwrapped = inspect.unwrap(target) if callable(target) else target
    for candidate in (target, unwrapped):
        if inspect.isasyncgenfunction(candidate):
            return ASYNC_GEN
        if inspect.isgeneratorfunction(candidate):
            return SYNC_GEN
        if inspect.iscoroutinefunction(candidate):
            return ASYNC
    return SYNC


def partial_keywords(fn: Any) -> frozenset[str]:
    """Names a ``functools.partial`` (or a chain of them) binds by keyword."""
    names: set[str] = set()
    while isinstance(fn, functools.partial):
        names.update(fn.keywords)
        fn = fn.func
    return frozenset(names)


_ANALYSED: weakref.WeakKeyDictionary[Any, tuple[inspect.Signature, str]] = \
    weakref.WeakKeyDictionary()


def analyse(fn: Callable[..., Any]) -> tuple[inspect.Signature, str]:
    """The signature and call kind of ``fn``, computed once per callable."""
    try:
        return _ANALYSED[fn]
    except (KeyError, TypeError):
        pass
    found = (signature_of(fn), call_kind(fn))
    with contextlib.suppress(TypeError):  # not weakly referenceable: just not cached
        _ANALYSED[fn] = found
    return found
