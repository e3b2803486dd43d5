"""Component metadata: description, options, types and defaults, read from the callable.

The signature gives the options, their types and defaults; the docstring gives the
description (its first paragraph) and per-option text (a Google-style ``Args:`` section or
``:param name:`` lines). ``component(...)`` adds or overrides any of it without wrapping
the callable, so it is still called exactly as before.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from adf_core.engine.markers import AFTER_RUN, IN_PROCESS, ROUTES, SECRETS, is_after_run, marked
from adf_core.engine.saved_state import STATE_WHEN
from adf_core.observe.secrets import is_secret_name

F = TypeVar("F", bound=Callable[..., Any])

MODES = {
    "async": "async",
    "sync": "sync (thread)",
    "generator": "stream (thread)",
    "async-generator": "async stream",
}
#: where ``component(...)`` keeps what it declared on the callable
ATTRIBUTE = "__adf_component__"
_SECTION = re.compile(r"^(Args|Arguments|Parameters|Options|Keyword Args):\s*$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ComponentMeta:
    """What ``component(...)`` attached: overrides for the derived metadata."""

    description: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    after_run: bool = False
    in_process: bool = False
    #: static checks, run by ``--dry-run`` (see :mod:`adf_core.plugins.checks`)
    check: tuple[Callable[..., Any], ...] = ()
    #: opens the component's connection without moving data, run by ``--check``
    probe: Callable[..., Any] | None = None
    #: the context keys a returned dict may hold (None: read the return annotation)
    returns: tuple[str, ...] | None = None
    #: returns records routed into context keys: keys no later component reads are reported
    routes: bool = False
    #: the option that turns on the saved ``state`` (None: taking ``state`` is enough)
    state_when: str | None = None


_NOTHING_DECLARED = ComponentMeta()


@dataclass(frozen=True)
class Option:
    """One parameter a user can set with ``-o alias.name=value``."""

    name: str
    type: str
    default: Any
    doc: str = ""
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class ComponentInfo:
    """Everything ``adf describe`` shows about one component."""

    name: str
    kind: str
    description: str
    doc: str
    options: tuple[Option, ...]
    target: str
    mode: str
    reads_upstream: bool

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


@overload
def component(fn: F, /) -> F: ...
@overload
def component(
    *,
    description: str | None = None,
    options: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    after_run: bool = False,
    in_process: bool = False,
    check: Callable[..., Any] | Iterable[Callable[..., Any]] = (),
    probe: Callable[..., Any] | None = None,
    returns: Iterable[str] | None = None,
    routes: bool = False,
    state_when: str | None = None,
) -> Callable[[F], F]: ...
def component(
    fn: Any = None,
    /,
    *,
    description: str | None = None,
    options: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    after_run: bool = False,
    in_process: bool = False,
    check: Callable[..., Any] | Iterable[Callable[..., Any]] = (),
    probe: Callable[..., Any] | None = None,
    returns: Iterable[str] | None = None,
    routes: bool = False,
    state_when: str | None = None,
) -> Any:
    """Attach metadata to a component: ``@component`` or ``@component(description=...)``.

    ``options`` maps a parameter name to its help text; ``secrets`` names parameters whose
    values are redacted although their names do not look secret. ``after_run=True``: the
    component runs once the rest of the flow has ended and every commit has settled, on
    success and on failure, and receives the reserved parameter ``report``; its failure never
    fails the run. ``in_process=True``: the component must run in this process (it joins a
    commit group, writes to this process's stdout, streams): under a flow-wide executor that
    leaves the process it stays on threads. ``check`` (one callable or several) and ``probe``
    are run by ``adf run --dry-run`` and ``--check`` (see :mod:`adf_core.plugins.checks`);
    ``returns`` names the context keys a returned dict holds (what later stages may read; by
    default the return annotation tells); ``routes=True`` says the returned keys are groups of
    records (``split``): a group no later component reads is a data warning.
    ``state_when="OPTION"``: the component's ``state`` parameter is filled (and the flow needs
    a name) only when that option is set, e.g. ``incremental``. The callable itself is
    returned unchanged.
    """
    checks = (check,) if callable(check) else tuple(check)
    if isinstance(returns, str):
        returns = (returns,)

    def attach(target: F) -> F:
        # Stacked component(...) calls add up: @component(secrets=...) above
        # @component(in_process=True) keeps both.
        before: ComponentMeta = getattr(target, ATTRIBUTE, None) or ComponentMeta()
        meta = ComponentMeta(
            description=description or before.description,
            options={**before.options, **(options or {})},
            secrets=before.secrets | frozenset(secrets),
            after_run=before.after_run or bool(after_run),
            in_process=before.in_process or bool(in_process),
            check=(*before.check, *checks),
            probe=probe if probe is not None else before.probe,
            returns=tuple(returns) if returns is not None else before.returns,
            routes=before.routes or bool(routes),
            state_when=state_when or before.state_when)
        try:
            setattr(target, ATTRIBUTE, meta)
            if after_run:
                setattr(target, AFTER_RUN, True)
            if in_process:
                setattr(target, IN_PROCESS, True)
            if routes:
                setattr(target, ROUTES, True)
            if meta.state_when:
                setattr(target, STATE_WHEN, meta.state_when)
            if meta.secrets:
                setattr(target, SECRETS, meta.secrets)
        except (AttributeError, TypeError):
            raise TypeError(
                f"component(...) cannot mark {target!r}: it takes no attributes; decorate "
                "the function itself") from None
        return target

    return attach if fn is None else attach(fn)


def declarations(fn: Any) -> ComponentMeta:
    """What ``component(...)`` declared on ``fn`` (through ``step``, ``functools.partial``
    and ``functools.wraps`` wrappers); an empty ``ComponentMeta`` when nothing was."""
    meta = marked(fn, ATTRIBUTE)
    return meta if isinstance(meta, ComponentMeta) else _NOTHING_DECLARED


def declared_secrets(fn: Any) -> frozenset[str]:
    """The options ``component(secrets=[...])`` declared on ``fn`` (through its wrappers)."""
    return declarations(fn).secrets


def describe(fn: Callable[..., Any], name: str, kind: str) -> ComponentInfo:
    """Read a component's metadata from its signature, docstring and ``component(...)``."""
    from adf_core.engine.binding import reserved_names
    from adf_core.engine.callables import call_kind, signature_of

    meta = declarations(fn)
    secrets = meta.secrets
    doc = inspect.cleandoc(inspect.getdoc(fn) or "")
    docs = {**option_docs(doc), **meta.options}
    options = []
    reads_upstream = False
    reserved = reserved_names(is_after_run(fn))
    for param in signature_of(fn).parameters.values():
        if param.name in reserved or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            reads_upstream = reads_upstream or param.name == "upstream"
            continue
        default = REQUIRED if param.default is param.empty else param.default
        secret = is_secret_name(param.name) or param.name in secrets
        options.append(
            Option(param.name, type_name(param.annotation), default, docs.get(param.name, ""),
                   secret)
        )
    description = meta.description or doc.split("\n\n", 1)[0].replace("\n", " ")
    mode = MODES.get(call_kind(fn), call_kind(fn))
    if is_after_run(fn):
        mode += ", after the run"
    if meta.in_process:
        mode += ", in this process"
    return ComponentInfo(
        name, kind, description, doc, tuple(options), _target(fn), mode, reads_upstream
    )


def option_docs(doc: str) -> dict[str, str]:
    """Per-parameter text from a Google-style ``Args:`` section or ``:param x:`` lines."""
    docs: dict[str, str] = {}
    current: str | None = None
    in_section = False
    indent = 0
    for line in doc.splitlines():
        stripped = line.strip()
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            current, docs[sphinx[1]] = sphinx[1], sphinx[2]
            in_section = False
            continue
        if _SECTION.match(stripped):
            in_section, current, indent = True, None, -1
            continue
        if not stripped:
            current = None if in_section else current
            continue
        depth = len(line) - len(line.lstrip())
        if in_section:
            if indent < 0:
                indent = depth
            if depth < indent or (depth == 0 and stripped.endswith(":")):
                in_section, current = False, None
                continue
            item = _GOOGLE_ITEM.match(stripped) if depth == indent else None
            if item:
                current = item[1].lstrip("*")
                docs[current] = item[3]
                continue
        if current is not None and (in_section or depth > 0):
            docs[current] = f"{docs[current]} {stripped}".strip()
        else:
            current = None
    return docs


def doc_body(doc: str) -> str:
    """A docstring without its first paragraph and its option sections."""
    parts = doc.split("\n\n")[1:]
    return "\n\n".join(p for p in parts if not _SECTION.match(p.strip().split("\n")[0])).strip()


def type_name(annotation: Any) -> str:
    """A short display form of an annotation: ``int``, ``list[str]``, ``Path | None``."""
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return re.sub(r"\b(?:typing|pathlib|collections\.abc|builtins)\.", "", str(annotation))


def _target(fn: Callable[..., Any]) -> str:
    inner = getattr(fn, "func", fn)
    module = getattr(inner, "__module__", None) or type(inner).__module__
    qualname = getattr(inner, "__qualname__", None) or type(inner).__qualname__
    return f"{module}:{qualname}"
