"""Property-based tests: random series-parallel flows, random expressions, arbitrary input."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adf_core import DataFlow, FlowDefinitionError
from adf_core.engine.definition import Leaf, Parallel, Sequence


def examples(default: int) -> int:
    """How many examples to try; ADF_HYPOTHESIS_EXAMPLES=2000 for a long soak."""
    return int(os.environ.get("ADF_HYPOTHESIS_EXAMPLES", default))


# An abstract tree: a leaf is an int placeholder; a group is ("seq" | "par", [children]).
trees = st.recursive(
    st.just(0),
    lambda children: st.tuples(st.sampled_from(["seq", "par"]),
                               st.lists(children, min_size=1, max_size=4)),
    max_leaves=12,
)


def name_leaves(tree: Any, counter: itertools.count) -> Any:
    if not isinstance(tree, tuple):
        return f"n{next(counter)}"
    kind, children = tree
    return (kind, [name_leaves(c, counter) for c in children])


def canonical(tree: Any, ordered_parallel: bool = False) -> Any:
    """What the engine should make of a tree: one-member groups collapse, same kinds flatten."""
    if isinstance(tree, str):
        return tree
    kind, children = tree
    flat: list[Any] = []
    for child in children:
        child = canonical(child, ordered_parallel)
        if isinstance(child, tuple) and child[0] == kind:
            flat.extend(child[1])
        else:
            flat.append(child)
    if len(flat) == 1:
        return flat[0]
    if kind == "par" and not ordered_parallel:
        flat = sorted(flat, key=repr)
    return (kind, flat)


def canonical_root(tree: Any, ordered_parallel: bool = False) -> Any:
    root = canonical(tree, ordered_parallel)
    return root if isinstance(root, tuple) and root[0] == "seq" else ("seq", [root])


def engine_shape(node: Any, ordered_parallel: bool = False) -> Any:
    if isinstance(node, Leaf):
        ref = node.step.ref or node.alias
        return node.alias if ref == node.alias else f"{node.alias}={ref}"
    children = [engine_shape(c, ordered_parallel) for c in node.children]
    if isinstance(node, Parallel):
        return ("par", children if ordered_parallel else sorted(children, key=repr))
    assert isinstance(node, Sequence)
    return ("seq", children)


def leaves_of(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    return [leaf for child in tree[1] for leaf in leaves_of(child)]


def last_leaves_of(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    kind, children = tree
    if kind == "seq":
        return last_leaves_of(children[-1])
    return [leaf for child in children for leaf in last_leaves_of(child)]


# --------------------------------------------------------------- random definitions run


class Journal:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.start: dict[str, int] = {}
        self.end: dict[str, int] = {}
        self.saw_context: dict[str, set[str]] = {}
        self.saw_upstream: dict[str, dict[str, Any]] = {}
        self.running = 0
        self.peak = 0

    def stamp(self, table: dict[str, int], name: str) -> None:
        with self.lock:
            table[name] = next(self.counter)
            self.running += 1 if table is self.start else -1
            self.peak = max(self.peak, self.running)

    def component(self, name: str, is_async: bool):
        if is_async:
            async def component(context, upstream) -> dict:
                self.stamp(self.start, name)
                self.saw_context[name] = set(context)
                self.saw_upstream[name] = dict(upstream)
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                self.stamp(self.end, name)
                return {name: True}
        else:
            def component(context, upstream) -> dict:
                self.stamp(self.start, name)
                self.saw_context[name] = set(context)
                self.saw_upstream[name] = dict(upstream)
                self.stamp(self.end, name)
                return {name: True}
        component.__name__ = name
        return component


def to_definition(tree: Any, parent: str, in_set: bool, fns: dict[str, Any], draw) -> Any:
    """Write a tree with the Python forms of DESIGN section 2, chosen at random.

    parent: "top", "seq" or "par". A tuple is a sequence at the top or inside a parallel
    group and a parallel group inside a sequence; lists are always sequences, sets always
    parallel. Inside a set members must hash (tuples and frozensets only), so a sequence
    directly in a hashable sequence is written as a one-member group holding it.
    """
    if isinstance(tree, str):
        return fns[tree]
    kind, children = tree
    if kind == "seq":
        if in_set and parent == "seq":
            form = "wrapped"  # frozenset({tuple}): a one-member group holding a sequence
        elif in_set:
            form = "tuple"
        elif parent in ("top", "par"):
            form = draw(st.sampled_from(["tuple", "list"]))
        else:
            form = "list"
    else:
        if in_set or parent in ("top", "par"):
            form = "frozenset" if in_set else draw(st.sampled_from(["set", "frozenset"]))
        else:
            form = draw(st.sampled_from(["tuple", "set", "frozenset"]))
    child_in_set = form in ("set", "frozenset", "wrapped") or (in_set and form == "tuple")
    members = [to_definition(c, kind, child_in_set, fns, draw) for c in children]
    if form == "wrapped":
        return frozenset({tuple(members)})
    if form == "tuple":
        return tuple(members)
    if form == "list":
        return members
    if form == "set":
        return set(members)
    return frozenset(members)


def order_constraints(tree: Any) -> list[tuple[list[str], list[str]]]:
    """(earlier, later): every leaf of ``earlier`` ends before any of ``later`` starts."""
    if isinstance(tree, str):
        return []
    kind, children = tree
    found = [c for child in children for c in order_constraints(child)]
    if kind == "seq":
        for before, after in itertools.pairwise(children):
            found.append((leaves_of(before), leaves_of(after)))
    return found


def expected_views(tree: Any, seen: frozenset, upstream: tuple, out: dict) -> None:
    """Per leaf: the context keys it must see and the upstream aliases it must receive."""
    if isinstance(tree, str):
        out[tree] = (seen, set(upstream))
        return
    kind, children = tree
    if kind == "par":
        for child in children:
            expected_views(child, seen, upstream, out)
        return
    for child in children:
        expected_views(child, seen, upstream, out)
        seen = seen | frozenset(leaves_of(child))
        upstream = tuple(last_leaves_of(child))


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, data=st.data())
def test_random_series_parallel_flows_respect_every_order_constraint(tree, data):
    """Under any max_concurrency/max_threads: order, context views, upstream and the limit."""
    tree = name_leaves(tree, itertools.count())
    names = leaves_of(tree)
    journal = Journal()
    kinds = data.draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
    fns = {name: journal.component(name, is_async) for name, is_async in zip(names, kinds,
                                                                              strict=True)}
    definition = to_definition(tree, "top", False, fns, data.draw)
    limit = data.draw(st.sampled_from([None, 1, 2, 3]), label="max_concurrency")
    threads = data.draw(st.sampled_from([None, 1, 2]), label="max_threads")
    flow = DataFlow(definition, max_concurrency=limit, max_threads=threads)
    root = canonical_root(tree)
    assert engine_shape(flow.tree) == root

    result = flow.run({"seed": 1})

    assert set(journal.end) == set(names)
    if limit is not None:
        assert journal.peak <= limit
    assert dict(result) == {"seed": 1, **dict.fromkeys(names, True)}
    for earlier, later in order_constraints(root):
        last_end = max(journal.end[n] for n in earlier)
        first_start = min(journal.start[n] for n in later)
        assert last_end < first_start, (earlier, later)
    views: dict[str, Any] = {}
    expected_views(root, frozenset(), (), views)
    for name in names:
        context_keys, upstream_keys = views[name]
        assert journal.saw_context[name] == {"seed", *context_keys}, name
        assert set(journal.saw_upstream[name]) == upstream_keys, name
        assert all(journal.saw_upstream[name][k] == {k: True} for k in upstream_keys)


# ------------------------------------------------------------------- random expressions

REFS = ["db", "merge", "s3", "file.csv", "my-plugin", "pkg.jobs:load", "pkg:Jobs.run"]


def resolver(name: str, kind: str):
    def component() -> None:
        return None

    component.__name__ = name.replace(":", "_").replace(".", "_").replace("-", "_")
    return component


@st.composite
def expression_trees(draw) -> Any:
    tree = name_leaves(draw(trees), itertools.count())

    def leaf(name: str) -> str:
        ref = draw(st.sampled_from([None, *REFS]))
        return name if ref is None else f"{name}={ref}"

    def label(node: Any) -> Any:
        if isinstance(node, str):
            return leaf(node)
        return (node[0], [label(c) for c in node[1]])

    return label(tree)


@st.composite
def rendered(draw, tree: Any) -> str:
    space = st.sampled_from(["", " ", "  ", "\t"])

    def render(node: Any, inside_parallel: bool) -> str:
        if isinstance(node, str):
            text = node.replace("=", draw(space) + "=" + draw(space))
        else:
            kind, children = node
            sep = "|" if kind == "seq" else ","
            joined = (draw(space) + sep + draw(space)).join(
                render(c, kind == "par") for c in children)
            needs = kind == "seq" and inside_parallel
            text = f"({draw(space)}{joined}{draw(space)})" if needs else joined
        if draw(st.integers(0, 4)) == 0:  # a redundant pair of parentheses now and then
            text = f"({text})"
        return text

    return draw(space) + render(tree, False) + draw(space)


@settings(max_examples=examples(150), deadline=None)
@given(data=st.data())
def test_random_expressions_round_trip_through_the_parser(data):
    tree = data.draw(expression_trees())
    text = data.draw(rendered(tree))
    first = DataFlow.parse(text, resolver=resolver)
    printed = first.expression
    second = DataFlow.parse(printed, resolver=resolver)
    assert second.expression == printed
    assert engine_shape(second.tree, True) == engine_shape(first.tree, True)
    assert engine_shape(first.tree, True) == canonical_root(tree, ordered_parallel=True)
    assert [(c.alias, c.name) for c in first.components] == [
        (c.alias, c.name) for c in second.components]


# ---------------------------------------------------------------------- arbitrary input

KNOWN = {"a", "b", "c", "src", "pkg:fn"}


def strict_resolver(name: str, kind: str):
    if name not in KNOWN:
        raise FlowDefinitionError(f"unknown {kind} {name!r}")
    return resolver(name, kind)


pieces = st.sampled_from(["a", "b", "c", "src", "x", "pkg:fn", "pkg:", ":", "|", ",", "(", ")",
                          "=", " ", "\t", "\n", "-", ".", "1", "é", "$", "\\", "\x00", "'"])


@settings(max_examples=examples(200), deadline=None)
@given(text=st.one_of(st.lists(pieces, max_size=20).map("".join), st.text(max_size=30)))
def test_arbitrary_strings_raise_nothing_but_definition_errors(text):
    try:
        flow = DataFlow.parse(text, resolver=strict_resolver)
    except FlowDefinitionError as error:
        assert str(error)
    else:
        assert {c.alias for c in flow.components}  # it parsed into something real
        DataFlow.parse(flow.expression, resolver=strict_resolver)


def test_deeply_nested_parentheses_are_a_definition_error_or_parse():
    text = "(" * 400 + "a" + ")" * 400
    try:
        flow = DataFlow.parse(text, resolver=strict_resolver)
    except FlowDefinitionError:
        return
    assert flow.expression == "a"
