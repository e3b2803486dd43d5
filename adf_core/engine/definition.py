"""Normalise a flow definition (nested tuples, lists, sets) into a tree of stages.

Nesting alternates: a top-level tuple or any list is a sequence; a tuple inside a sequence,
or any set, is a parallel group; a tuple inside a parallel group is a sequence again.
One-member groups collapse into their member and nested groups of one kind are flattened,
so the tree is canonical: sequences hold leaves and parallels, parallels hold leaves and
sequences.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adf_core.engine.steps import Step
from adf_core.errors import FlowDefinitionError

SEQUENCE = "sequence"
PARALLEL = "parallel"


@dataclass(eq=False)
class Leaf:
    """One component instance at one position in the flow."""

    step: Step
    alias: str
    position: str
    stage: int
    kind: str = "transform"
    component: Any = None  # the PlannedComponent, filled in by the plan


@dataclass(eq=False)
class Sequence:
    children: list[Node] = field(default_factory=list)


@dataclass(eq=False)
class Parallel:
    children: list[Node] = field(default_factory=list)


Node = Leaf | Sequence | Parallel


def component_name(fn: Callable[..., Any]) -> str:
    """The default alias of a callable: its ``__name__`` (through partials and objects)."""
    if isinstance(fn, Step):
        return fn.name or fn.ref or component_name(fn.fn)
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        name = type(fn).__name__
    return "lambda" if name == "<lambda>" else name


def normalize(definition: Any) -> Sequence:
    """Build the canonical tree of ``definition``; raise FlowDefinitionError naming the position."""
    try:
        return _normalize(definition)
    except RecursionError:
        raise FlowDefinitionError(
            "the definition is nested too deeply; flatten groups of one kind") from None


def _normalize(definition: Any) -> Sequence:
    if isinstance(definition, (tuple, list)):
        root = _build(definition, SEQUENCE, [])
    elif isinstance(definition, Sequence):
        root = _build(definition.children, SEQUENCE, [])
    elif isinstance(definition, Parallel):
        root = _build(definition.children, PARALLEL, [])
    elif isinstance(definition, (set, frozenset)):
        root = _build(definition, PARALLEL, [])
    else:
        root = _build_member(definition, SEQUENCE, ["stage 1"])
    if not isinstance(root, Sequence):
        root = Sequence([root])
    assign_positions(root)
    return root


def _describe(path: list[str]) -> str:
    return ", ".join(path) if path else "the flow"


def _build(group: Any, kind: str, path: list[str]) -> Node:
    members = list(group)
    if isinstance(group, (set, frozenset)):
        members.sort(key=lambda m: component_name(m) if callable(m) else repr(m))
    if not members:
        where = _describe(path)
        raise FlowDefinitionError(f"{where}: empty group; a group needs at least one component")
    label = "stage" if not path else ("member" if kind == PARALLEL else "step")
    children: list[Node] = []
    for index, member in enumerate(members, start=1):
        child = _build_member(member, kind, [*path, f"{label} {index}"])
        same_kind = Sequence if kind == SEQUENCE else Parallel
        if isinstance(child, same_kind):
            children.extend(child.children)
        else:
            children.append(child)
    if len(children) == 1:
        return children[0]
    return Sequence(children) if kind == SEQUENCE else Parallel(children)


def _build_member(member: Any, parent_kind: str, path: list[str]) -> Node:
    if isinstance(member, Leaf):
        return Leaf(step=member.step, alias=member.alias, position=member.position, stage=0)
    if isinstance(member, Sequence):
        return _build(member.children, SEQUENCE, path)
    if isinstance(member, Parallel):
        return _build(member.children, PARALLEL, path)
    if isinstance(member, list):
        return _build(member, SEQUENCE, path)
    if isinstance(member, (set, frozenset)):
        return _build(member, PARALLEL, path)
    if isinstance(member, tuple):
        return _build(member, PARALLEL if parent_kind == SEQUENCE else SEQUENCE, path)
    _check_callable(member.fn if isinstance(member, Step) else member, path)
    step = member if isinstance(member, Step) else Step(member)
    return Leaf(step=step, alias=component_name(step), position=_describe(path), stage=0)


def _check_callable(member: Any, path: list[str]) -> None:
    problem = callable_problem(member)
    if problem is not None:
        raise FlowDefinitionError(f"{_describe(path)}: {problem}")


def callable_problem(member: Any) -> str | None:
    """Why ``member`` cannot be a component (a class, a non-callable), or None if it can."""
    if inspect.isclass(member):
        if "__call__" in {k for c in member.__mro__[:-1] for k in vars(c)}:
            return f"{member.__name__} is a class; pass an instance, e.g. {member.__name__}()"
        return (f"{member.__name__} is a class whose instances are not callable; "
                "pass a function or an object with __call__")
    if not callable(member):
        return (f"{_short_repr(member)} ({type(member).__name__}) is not callable; every member "
                "of a flow must be a function, a coroutine function, a generator or a "
                "callable object")
    return None


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real problem
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 60 else text[:57] + "..."


def assign_positions(root: Sequence) -> None:
    """Recompute positions on the canonical tree and mark each leaf's kind by its position."""
    count = len(root.children)
    for index, child in enumerate(root.children, start=1):
        _mark(child, [f"stage {index}"], index, index == 1, index == count)


def kind_at(first: bool, last: bool) -> str:
    """The kind a position asks for: what starts a path is a source, what ends one a
    destination, everything between (and anything in a middle stage) a transform."""
    if first:
        return "source"
    return "destination" if last else "transform"


def _mark(node: Node, path: list[str], stage: int, first: bool, last: bool) -> None:
    if isinstance(node, Leaf):
        node.position = ", ".join(path)
        node.stage = stage
        node.kind = node.step.kind or kind_at(first, last)
        return
    if isinstance(node, Parallel):
        for index, child in enumerate(node.children, start=1):
            _mark(child, [*path, f"member {index}"], stage, first, last)
        return
    end = len(node.children)
    for index, child in enumerate(node.children, start=1):
        _mark(child, [*path, f"step {index}"], stage, first and index == 1, last and index == end)


def leaves(node: Node) -> list[Leaf]:
    """Every leaf in definition order."""
    if isinstance(node, Leaf):
        return [node]
    found: list[Leaf] = []
    for child in node.children:
        found.extend(leaves(child))
    return found


def first_leaves(node: Node) -> list[Leaf]:
    """The leaves that start a node: they receive its predecessor's outputs as ``upstream``."""
    return _edge_leaves(node, 0)


def last_leaves(node: Node) -> list[Leaf]:
    """The leaves whose outputs a node hands on as the next node's ``upstream``."""
    return _edge_leaves(node, -1)


def _edge_leaves(node: Node, end: int) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    if isinstance(node, Sequence):
        return _edge_leaves(node.children[end], end)
    found: list[Leaf] = []
    for child in node.children:
        found.extend(_edge_leaves(child, end))
    return found


def render(node: Node, inside_parallel: bool = False) -> str:
    """The canonical pipe expression of a tree (see ``adf_core.engine.expression``)."""
    if isinstance(node, Leaf):
        ref = node.step.ref or node.alias
        return node.alias if ref == node.alias else f"{node.alias}={ref}"
    if isinstance(node, Parallel):
        return ", ".join(render(child, True) for child in node.children)
    text = " | ".join(render(child, False) for child in node.children)
    return f"({text})" if inside_parallel else text
