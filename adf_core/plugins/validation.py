"""Validate a flow before it runs: every problem at once, without moving data.

What is checked, per component instance:

- its name resolves; its options exist (with a "did you mean") and convert by annotation,
  ``Literal``/enum values included; its engine settings are valid;
- every required parameter is set somewhere: an option, a param (``-p``), or the output of
  an earlier stage. What an earlier component may put in the context is read from how it
  returns: its alias (any value that is not a dict), the keys it declares
  (``component(returns=[...])``), or the keys of a ``TypedDict`` return annotation. A
  component that may return a dict of arbitrary keys (a ``dict``/``Mapping`` annotation, no
  annotation at all, a routing ``split``) may provide anything, so nothing after it is
  reported missing: validation never rejects a flow that could run;
- the checks the component declares (``component(check=...)``): mutually exclusive options,
  filter syntax, drivers, paths.

``probe_flow`` then opens each connection a component declares a probe for (``--check``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from adf_core.data.conversion import ConversionError, check_choice, convert_option
from adf_core.engine.binding import reserved_names
from adf_core.engine.callables import ASYNC_GEN, SYNC_GEN, analyse
from adf_core.engine.definition import Leaf, Node, Parallel, Sequence, leaves, normalize
from adf_core.engine.expression import Resolver, build_definition
from adf_core.engine.flow import STEP_SETTINGS, DataFlow
from adf_core.engine.markers import is_after_run
from adf_core.engine.plan import duplicate_alias
from adf_core.engine.rejects import check_max_errors, check_policy
from adf_core.engine.steps import Step
from adf_core.errors import FlowDefinitionError
from adf_core.plugins.checks import CheckFailed, Problem
from adf_core.plugins.metadata import declarations
from adf_core.text import did_you_mean

_VAR = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)


@dataclass(eq=False)
class Unit:
    """One component instance as validation sees it."""

    alias: str
    name: str
    kind: str
    position: str
    fn: Callable[..., Any] | None  # None: the name did not resolve
    signature: inspect.Signature
    call: str
    options: dict[str, Any] = field(default_factory=dict)  # valid, converted
    given: set[str] = field(default_factory=set)  # every option set, valid or not
    fixed: dict[str, Any] = field(default_factory=dict)  # bound by functools.partial
    #: context keys an earlier stage may provide (None: any key)
    upstream_keys: frozenset[str] | None = frozenset()
    known: dict[str, Any] = field(default_factory=dict)  # option values known before the run

    @property
    def after_run(self) -> bool:
        """Declared ``component(after_run=True)``: it runs after the flow, given ``report``."""
        return self.fn is not None and is_after_run(self.fn)

    @property
    def reserved(self) -> tuple[str, ...]:
        """Parameters the engine fills itself (never options)."""
        return reserved_names(self.after_run)

    def required(self) -> list[str]:
        """Parameters with no default that nothing bound."""
        reserved = self.reserved
        return [name for name, p in self.signature.parameters.items()
                if p.kind not in _VAR and name not in reserved and p.default is p.empty
                and name not in self.given and name not in self.fixed]


@dataclass(frozen=True)
class ProbeOutcome:
    """What ``--check`` found for one component: ok, failed or skipped."""

    component: str
    status: str
    message: str
    option: str | None = None


# Building units ----------------------------------------------------------------------------

def _unresolved(**kwargs: Any) -> Any:
    """Stands in for a component whose name did not resolve."""


def validate_expression(
    expression: str,
    *,
    resolver: Resolver,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Every problem of a flow written as an expression, with its options and settings (what
    ``adf run`` is given), found without running anything."""
    problems: list[Problem] = []
    units, tree = _units_of_expression(expression, resolver, options or {}, settings or {},
                                       defaults or {}, problems)
    if tree is None:
        return problems
    problems += _flow_problems(tree, units, params or {})
    order = {alias: index for index, alias in enumerate(units)}
    return sorted(problems, key=lambda p: order.get(p.component or "", -1))


def validate(flow: DataFlow, params: Mapping[str, Any] | None = None, *,
             connect: bool = False, timeout: float = 10.0) -> list[Problem]:
    """Every problem of a built flow that can be found without running it: required
    parameters nothing provides, and the checks its components declare; with ``connect``,
    also every connection (a declared probe) that does not open within ``timeout`` seconds.

    For scripts: it runs its own event loop; inside one, await :func:`probe_flow`.
    """
    units = {leaf.alias: _unit_of_planned(leaf) for leaf in leaves(flow.tree)}
    problems = _flow_problems(flow.tree, units, params or {})
    if connect and not problems:
        outcomes = asyncio.run(probe_flow(flow, params, timeout=timeout))
        problems += [Problem(o.message, o.option, o.component) for o in outcomes
                     if o.status == "failed"]
    return problems


def _unit_of_planned(leaf: Leaf) -> Unit:
    comp = leaf.component
    return Unit(alias=comp.alias, name=comp.name, kind=comp.kind, position=comp.position,
                fn=comp.fn, signature=comp.signature, call=comp.call,
                options=dict(comp.options), given=set(comp.options),
                fixed=_fixed(comp.fn))


def _fixed(fn: Any) -> dict[str, Any]:
    import functools

    found: dict[str, Any] = {}
    while isinstance(fn, functools.partial):
        found = {**fn.keywords, **found}
        fn = fn.func
    return found


def _units_of_expression(expression: str, resolver: Resolver,
                         options: Mapping[str, Mapping[str, Any]],
                         settings: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any],
                         problems: list[Problem]) -> tuple[dict[str, Unit], Sequence | None]:
    failed: dict[str, str] = {}

    def resolve(name: str, kind: str) -> Callable[..., Any]:
        try:
            return resolver(name, kind)
        except (FlowDefinitionError, LookupError) as exc:
            failed[name] = str(exc).split("\n")[0]
            return _unresolved

    try:
        tree = normalize(build_definition(expression, resolve))
    except FlowDefinitionError as exc:
        problems.append(Problem(str(exc)))
        return {}, None
    units: dict[str, Unit] = {}
    seen: dict[str, Leaf] = {}
    for leaf in leaves(tree):
        if leaf.alias in seen:
            problems.append(Problem(str(duplicate_alias(seen[leaf.alias], leaf)),
                                    component=leaf.alias))
            continue
        seen[leaf.alias] = leaf
        unit = _unit_of_leaf(leaf)
        if leaf.step.fn is _unresolved:
            unit.fn = None
            problems.append(Problem(failed.get(leaf.step.ref or "", "does not resolve"),
                                    component=leaf.alias))
        units[leaf.alias] = unit
    for table, label in ((options, "options"), (settings, "settings")):
        for alias in table:
            if alias not in units:
                problems.append(Problem(
                    f"{label} given for {alias!r}, which is not in the flow"
                    f"{did_you_mean(alias, units)}; its components are: {', '.join(units)}"))
    problems += _default_problems(defaults)
    for alias, unit in units.items():
        problems += _settings_problems(unit, settings.get(alias) or {})
        if unit.fn is not None:
            problems += _option_problems(unit, options.get(alias) or {})
    return units, tree


def _unit_of_leaf(leaf: Leaf) -> Unit:
    step: Step = leaf.step
    signature, call = analyse(step.fn)
    unit = Unit(alias=leaf.alias, name=step.ref or leaf.alias, kind=leaf.kind,
                position=leaf.position, fn=step.fn, signature=signature, call=call,
                fixed=_fixed(step.fn))
    return unit


def _default_problems(defaults: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for name, check in (("on_error", check_policy), ("max_errors", check_max_errors)):
        if defaults.get(name) is not None:
            try:
                check(defaults[name])
            except FlowDefinitionError as exc:
                problems.append(Problem(str(exc)))
    return problems


def _settings_problems(unit: Unit, engine: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for key, value in engine.items():
        if key not in STEP_SETTINGS:
            problems.append(Problem(f"unknown setting {key!r}{did_you_mean(key, STEP_SETTINGS)};"
                                    f" settings are: {', '.join(STEP_SETTINGS)}",
                                    option=key, component=unit.alias))
            continue
        message = _setting_problem(key, value)
        if message:
            message = message.removeprefix(f"{key} ").removeprefix(f"setting {key} ")
            problems.append(Problem(message, option=key, component=unit.alias))
    return problems


def _setting_problem(key: str, value: Any) -> str | None:
    try:
        if key == "on_error":
            check_policy(value)
        elif key == "max_errors":
            check_max_errors(value)
    except FlowDefinitionError as exc:
        return str(exc)
    if key in ("retries", "buffer_size"):
        low = 0 if key == "retries" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            return f"setting {key} must be an integer >= {low}, got {value!r}"
    if key == "timeout" and value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
        return f"setting timeout must be a number of seconds > 0, got {value!r}"
    if key == "executor" and not isinstance(value, str):
        return f"setting executor must be a name, got {value!r}"
    return None


def _option_problems(unit: Unit, given: Mapping[str, Any]) -> list[Problem]:
    problems = []
    params = unit.signature.parameters
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
    reserved = unit.reserved
    known = [n for n, p in params.items() if p.kind not in _VAR and n not in reserved]
    for name, value in given.items():
        unit.given.add(name)
        param = params.get(name)
        if param is None or param.kind in _VAR:
            if var_keyword:
                unit.options[name] = value
                continue
            problems.append(Problem(
                f"no such option{did_you_mean(name, known)}; its options are: "
                f"{', '.join(known) or 'none'}", option=name, component=unit.alias))
            continue
        try:
            converted = convert_option(value, param.annotation, where="")
            check_choice(converted, param.annotation, where="")
        except ConversionError as exc:
            problems.append(Problem(str(exc).removeprefix(": "), option=name,
                                    component=unit.alias))
            continue
        unit.options[name] = converted
    return problems


# What earlier stages provide ---------------------------------------------------------------

def provides(unit: Unit) -> frozenset[str] | None:
    """The context keys ``unit`` may add when it returns (None: any key)."""
    if unit.fn is None:
        return None
    alias = frozenset({unit.alias})
    declared = declarations(unit.fn)
    if declared.returns is not None:
        return alias | frozenset(declared.returns)
    if declared.routes:
        return None
    if unit.call in (ASYNC_GEN, SYNC_GEN):
        return alias  # a stream is stored under its alias
    return _annotation_keys(unit.signature.return_annotation, alias)


def _annotation_keys(annotation: Any, alias: frozenset[str]) -> frozenset[str] | None:
    if annotation in (inspect.Signature.empty, Any, object) or isinstance(annotation, str):
        return None
    if annotation is None or annotation is type(None):
        return frozenset()
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found: frozenset[str] = frozenset()
        for member in typing.get_args(annotation):
            keys = _annotation_keys(member, alias)
            if keys is None:
                return None
            found |= keys
        return found
    if typing.is_typeddict(annotation):
        return alias | frozenset(annotation.__annotations__)
    target = origin or annotation
    if target is typing.Literal:
        return alias
    if not isinstance(target, type) or issubclass(target, Mapping):
        return None
    return alias


def _walk(node: Node, available: frozenset[str] | None, units: Mapping[str, Unit]
          ) -> frozenset[str] | None:
    """Record at each leaf the keys earlier stages may have provided; return the keys
    available after ``node``."""
    if isinstance(node, Leaf):
        unit = units.get(node.alias)
        if unit is None:
            return available
        unit.upstream_keys = available
        if unit.after_run:
            return available  # it runs after the flow: nothing written after it reads it
        added = provides(unit)
        return None if available is None or added is None else available | added
    if isinstance(node, Sequence):
        for child in node.children:
            available = _walk(child, available, units)
        return available
    assert isinstance(node, Parallel)
    outs = [_walk(child, available, units) for child in node.children]
    if any(out is None for out in outs):
        return None
    merged: frozenset[str] = frozenset()
    for out in outs:
        merged |= out or frozenset()
    return merged


def _walk_flow(tree: Sequence, params: Mapping[str, Any], units: Mapping[str, Unit]) -> None:
    """``_walk`` from the params; an after-run component is given the final context, so it
    may read whatever any stage provides."""
    final = _walk(tree, frozenset(params), units)
    for unit in units.values():
        if unit.after_run:
            unit.upstream_keys = final


def _known_values(unit: Unit, params: Mapping[str, Any], assume_defaults: bool = False
                  ) -> dict[str, Any]:
    """The option values known before the run (bound options win over the context; a
    parameter an earlier stage may provide is unknown). ``assume_defaults``: after a
    component that may return any key, take the defaults anyway (what probes do: an
    ``endpoint_url`` in a record group is not a realistic fear)."""
    known: dict[str, Any] = {}
    later = unit.upstream_keys
    reserved = unit.reserved
    for name, param in unit.signature.parameters.items():
        if param.kind in _VAR or name in reserved:
            continue
        if name in unit.options:
            known[name] = unit.options[name]
        elif name in unit.given:
            continue  # given but invalid: reported already
        elif name in unit.fixed:
            known[name] = unit.fixed[name]
        elif (later is None and not assume_defaults) or (later is not None and name in later):
            continue
        elif name in params:
            known[name] = params[name]
        elif param.default is not param.empty:
            known[name] = param.default
    return known


def _flow_problems(tree: Sequence, units: Mapping[str, Unit], params: Mapping[str, Any]
                   ) -> list[Problem]:
    _walk_flow(tree, params, units)
    problems: list[Problem] = []
    for unit in units.values():
        if unit.fn is None:
            continue
        for name in unit.required():
            if unit.upstream_keys is not None and name not in unit.upstream_keys:
                problems.append(Problem(
                    "required, and set nowhere: no option, param or earlier stage provides it",
                    option=name, component=unit.alias))
        unit.known = _known_values(unit, params)
        problems += run_checks(unit)
    return problems


def run_checks(unit: Unit) -> list[Problem]:
    """The checks ``unit`` declares, on the option values known before the run."""
    found: list[Problem] = []
    options = MappingProxyType(unit.known)
    for check in declarations(unit.fn).check:
        try:
            items = list(check(options) or ())
        except Exception as exc:
            name = getattr(check, "__name__", repr(check))
            items = [Problem(f"the check {name} failed: {type(exc).__name__}: {exc}")]
        for item in items:
            if isinstance(item, Problem):
                found.append(Problem(item.message, item.option, item.component or unit.alias))
            else:
                found.append(Problem(str(item), component=unit.alias))
    return found


# Probes --------------------------------------------------------------------------------------

async def probe_flow(flow: DataFlow, params: Mapping[str, Any] | None = None, *,
                     timeout: float = 10.0) -> list[ProbeOutcome]:
    """Open the connection of every component that declares a probe, concurrently, each
    within ``timeout`` seconds; nothing is read or written."""
    units = {leaf.alias: _unit_of_planned(leaf) for leaf in leaves(flow.tree)}
    _walk_flow(flow.tree, params or {}, units)
    jobs = []
    for unit in units.values():
        probe = declarations(unit.fn).probe
        if probe is None:
            continue
        unit.known = _known_values(unit, params or {}, assume_defaults=True)
        jobs.append(_probe_one(unit, probe, timeout))
    return list(await asyncio.gather(*jobs))


async def _probe_one(unit: Unit, probe: Callable[..., Any], timeout: float) -> ProbeOutcome:
    unknown = [name for name in unit.required() if name not in unit.known]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        return ProbeOutcome(unit.alias, "skipped",
                            f"not probed: {names} only known at run time (from an earlier stage)")
    options = MappingProxyType(unit.known)
    try:
        async with asyncio.timeout(timeout):
            if inspect.iscoroutinefunction(probe):
                reached = await probe(options)
            else:
                reached = await _in_daemon_thread(probe, options)
                if inspect.isawaitable(reached):
                    reached = await reached
    except TimeoutError:
        return ProbeOutcome(unit.alias, "failed", f"no answer within {timeout:g} s")
    except CheckFailed as exc:
        return ProbeOutcome(unit.alias, "failed", str(exc), exc.option)
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        return ProbeOutcome(unit.alias, "failed", f"{type(exc).__name__}: {text}")
    return ProbeOutcome(unit.alias, "ok", str(reached) if reached else "reachable")


async def _in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a sync probe on a daemon thread: one that hangs past its time limit is left
    behind instead of holding the process at exit."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args)
        except BaseException as exc:
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                future.set_exception(exc)  # unless it was given up on (its time limit)
        else:
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                future.set_result(result)

    threading.Thread(target=target, name="adf-probe", daemon=True).start()
    return await asyncio.wrap_future(future)

