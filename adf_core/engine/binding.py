"""Precompute how a component's parameters are filled, then fill them per call.

Order for each parameter: a bound option; the reserved names ``upstream``, ``context`` and
``state`` (and ``report`` for after-run components); the flow context; the parameter's default.
``**kwargs`` receives the rest of the context.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from adf_core.data.arrow.annotations import adapter_for
from adf_core.data.conversion import ConversionError, check_choice, convert_option
from adf_core.errors import FlowDefinitionError, MissingInputError
from adf_core.text import did_you_mean

RESERVED = ("upstream", "context", "state")
#: Reserved for after-run components only: the run report (elsewhere a context key).
REPORT = "report"
_RESERVED_AFTER_RUN = (*RESERVED, REPORT)


def reserved_names(after_run: bool) -> tuple[str, ...]:
    """The parameters the engine fills itself, never options: ``upstream``, ``context`` and
    ``state``, and ``report`` for an after-run component."""
    return _RESERVED_AFTER_RUN if after_run else RESERVED
_REQUIRED = inspect.Parameter.empty


class Binding:
    """The argument plan of one component instance."""

    __slots__ = ("adapters", "alias", "constants", "lookups", "names", "position", "positional",
                 "var_keyword", "wants_context", "wants_report", "wants_state", "wants_upstream")

    def __init__(self, alias: str, position: str, signature: inspect.Signature,
                 options: Mapping[str, Any], fixed: frozenset[str] = frozenset(),
                 gives_report: bool = False) -> None:
        self.alias = alias
        self.position = position
        params = signature.parameters
        self.var_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
        self.names = frozenset(n for n, p in params.items()
                               if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        _check_options(alias, position, options, params, self.var_keyword)
        self.constants: dict[str, Any] = {}
        self.lookups: list[tuple[str, Any]] = []
        self.positional: list[tuple[str, str, Any]] = []  # (name, source, value-or-default)
        self.wants_upstream = False
        self.wants_context = False
        self.wants_report = False
        self.wants_state = False
        #: parameter -> conversion its annotation asks for (Arrow or dicts, DESIGN 13)
        self.adapters: dict[str, Any] = {}
        for name, param in params.items():
            if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            if name in options:
                value = _convert(alias, name, options[name], param.annotation)
                if param.kind is param.POSITIONAL_ONLY:
                    self.positional.append((name, "const", value))
                else:
                    self.constants[name] = value
            elif name == "state" and param.kind is not param.POSITIONAL_ONLY:
                self.wants_state = True  # see adf_core.engine.saved_state
            elif name in RESERVED and name != "state":
                if param.kind is param.POSITIONAL_ONLY:
                    self.positional.append((name, name, None))
                elif name == "upstream":
                    self.wants_upstream = True
                else:
                    self.wants_context = True
            elif gives_report and name == REPORT and param.kind is not param.POSITIONAL_ONLY:
                self.wants_report = True
            elif param.kind is param.POSITIONAL_ONLY:
                self.positional.append((name, "key", param.default))
            elif name in fixed:
                continue  # bound by functools.partial: the partial supplies it, not the context
            else:
                self.lookups.append((name, param.default))
                adapter = adapter_for(param.annotation)
                if adapter is not None:
                    self.adapters[name] = adapter
        # Options passed through **kwargs (no parameter of that name) are bound as constants.
        for name, value in options.items():
            if name not in self.names:
                self.constants[name] = value

    def bind(self, ctx: Mapping[str, Any], upstream: dict[str, Any],
             report: Mapping[str, Any] | None = None, state: dict[str, Any] | None = None
             ) -> tuple[list[Any], dict[str, Any]]:
        kwargs = dict(self.constants) if self.constants else {}
        if self.wants_state and state is not None:
            kwargs["state"] = state
        if self.wants_report:
            kwargs[REPORT] = report
        for name, default in self.lookups:
            if name in ctx:
                kwargs[name] = ctx[name]
            elif default is _REQUIRED:
                raise MissingInputError(self.alias, name, ctx.keys(), self.position)
        if self.adapters:
            for name, adapter in self.adapters.items():
                if name in kwargs and kwargs[name] is not None:
                    kwargs[name] = adapter(kwargs[name])
        if self.wants_upstream:
            kwargs["upstream"] = upstream
        if self.wants_context:
            kwargs["context"] = MappingProxyType(ctx) if isinstance(ctx, dict) else ctx
        if self.var_keyword:
            for key, value in ctx.items():
                if key not in kwargs and key not in self.names:
                    kwargs[key] = value
        args: list[Any] = []
        for name, source, value in self.positional:
            if source == "const":
                args.append(value)
            elif source == "upstream":
                args.append(upstream)
            elif source == "context":
                args.append(MappingProxyType(dict(ctx)))
            elif name in ctx:
                args.append(ctx[name])
            elif value is _REQUIRED:
                raise MissingInputError(self.alias, name, ctx.keys(), self.position)
            else:
                args.append(value)
        return args, kwargs


def _check_options(alias: str, position: str, options: Mapping[str, Any],
                   params: Mapping[str, inspect.Parameter], var_keyword: bool) -> None:
    if var_keyword:
        return
    known = [n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    for name in options:
        if name not in params:
            choices = ", ".join(known) if known else "none"
            raise FlowDefinitionError(
                f"component {alias!r} ({position}) has no option {name!r}"
                f"{did_you_mean(name, known)}; its options are: {choices}"
            )


def _convert(alias: str, name: str, value: Any, annotation: Any) -> Any:
    try:
        converted = convert_option(value, annotation, where=f"option {alias}.{name}")
        check_choice(converted, annotation, where=f"option {alias}.{name}")
        return converted
    except ConversionError as exc:
        raise FlowDefinitionError(str(exc)) from None
