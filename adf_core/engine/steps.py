"""``step()``: a component with an alias, engine settings and bound options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Step:
    """A callable plus how the engine should run it.

    Engine settings live here rather than in the component's parameters, so a component
    whose own parameters are called ``timeout`` or ``name`` is never ambiguous. A setting
    left as ``None`` takes the flow's default.
    """

    __slots__ = ("buffer_size", "executor", "fn", "kind", "max_errors", "name", "on_error",
                 "options", "ref", "retries", "timeout")

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        executor: str | None = None,
        options: Mapping[str, Any] | None = None,
        buffer_size: int | None = None,
        ref: str | None = None,
        kind: str | None = None,
        on_error: str | None = None,
        max_errors: float | None = None,
    ) -> None:
        self.fn = fn
        self.name = name
        self.retries = retries
        self.timeout = timeout
        self.executor = executor
        self.options: Mapping[str, Any] = MappingProxyType(dict(options)) if options else _EMPTY
        self.buffer_size = buffer_size
        self.ref = ref  # the name the component was written with in an expression
        self.kind = kind  # "source" | "transform" | "destination" when resolved by position
        self.on_error = on_error  # bad-record policy: fail | skip | dead_letter
        self.max_errors = max_errors  # a count, or a fraction below 1 of the records read

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"step({getattr(self.fn, '__name__', self.fn)!r}, name={self.name!r})"


def step(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    retries: int | None = None,
    timeout: float | None = None,
    executor: str | None = None,
    options: Mapping[str, Any] | None = None,
    buffer_size: int | None = None,
    on_error: str | None = None,
    max_errors: float | None = None,
) -> Step:
    """Wrap ``fn`` with an alias (``name``), engine settings and bound ``options``.

    ``retries``, ``timeout`` (seconds), ``executor``, ``buffer_size``, ``on_error`` (fail,
    skip, dead_letter) and ``max_errors`` override the flow's defaults for this component;
    ``options`` bind parameters of ``fn`` by name, ahead of anything in the flow context.
    Wrapping a ``Step`` again overrides only what is given.
    """
    if not callable(fn):
        raise TypeError(f"step() needs a callable, got {fn!r}")
    if isinstance(fn, Step):
        merged = dict(fn.options)
        merged.update(options or {})
        return Step(
            fn.fn,
            name=name if name is not None else fn.name,
            retries=retries if retries is not None else fn.retries,
            timeout=timeout if timeout is not None else fn.timeout,
            executor=executor if executor is not None else fn.executor,
            options=merged,
            buffer_size=buffer_size if buffer_size is not None else fn.buffer_size,
            ref=fn.ref,
            kind=fn.kind,
            on_error=on_error if on_error is not None else fn.on_error,
            max_errors=max_errors if max_errors is not None else fn.max_errors,
        )
    return Step(fn, name=name, retries=retries, timeout=timeout, executor=executor,
                options=options, buffer_size=buffer_size, on_error=on_error,
                max_errors=max_errors)
