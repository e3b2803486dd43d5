"""Flow definitions (DESIGN section 2): every form, canonical trees, and errors by position."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest

from adf_core import DataFlow, FlowDefinitionError, step
from adf_core.engine.definition import Leaf, Parallel, Sequence


class Recorder:
    """Makes named components that log ('start'|'end', name) with a global sequence number."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.log: list[tuple[int, str, str]] = []

    def mark(self, what: str, name: str) -> None:
        with self.lock:
            self.log.append((next(self.counter), what, name))

    def sync(self, name: str):
        def component() -> None:
            self.mark("start", name)
            self.mark("end", name)

        component.__name__ = name
        return component

    def async_(self, name: str):
        async def component() -> None:
            self.mark("start", name)
            await asyncio.sleep(0)
            self.mark("end", name)

        component.__name__ = name
        return component

    def seq(self, what: str, name: str) -> int:
        return next(n for n, w, c in self.log if w == what and c == name)

    def before(self, first: str, then: str) -> bool:
        """``first`` ended before ``then`` started."""
        return self.seq("end", first) < self.seq("start", then)


def shape(node):
    """A comparable picture of a tree: ('seq', [...]), ('par', [...]) or the alias."""
    if isinstance(node, Leaf):
        return node.alias
    if isinstance(node, Parallel):
        return ("par", [shape(c) for c in node.children])
    assert isinstance(node, Sequence)
    return ("seq", [shape(c) for c in node.children])


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def test_a_single_callable_is_a_one_stage_flow(rec):
    only = rec.sync("only")
    flow = DataFlow(only)
    assert shape(flow.tree) == ("seq", ["only"])
    assert flow.expression == "only"
    flow.run()
    assert [w for _, w, _ in rec.log] == ["start", "end"]


def test_a_top_level_tuple_is_a_sequence(rec):
    a, b, c = rec.sync("a"), rec.async_("b"), rec.sync("c")
    flow = DataFlow((a, b, c))
    assert shape(flow.tree) == ("seq", ["a", "b", "c"])
    flow.run()
    assert rec.before("a", "b") and rec.before("b", "c")


def test_seed_many_sources_merge_one_output(rec):
    src1, src2, merge, out = (rec.sync("src1"), rec.async_("src2"), rec.sync("merge"),
                              rec.async_("out"))
    flow = DataFlow(((src1, src2), merge, out))
    assert shape(flow.tree) == ("seq", [("par", ["src1", "src2"]), "merge", "out"])
    assert flow.expression == "src1, src2 | merge | out"
    flow.run()
    assert rec.before("src1", "merge") and rec.before("src2", "merge")
    assert rec.before("merge", "out")


def test_seed_discovery_then_save_and_log(rec):
    discovery, save, log = rec.sync("discovery"), rec.sync("save"), rec.async_("log")
    flow = DataFlow((discovery, (save, log)))
    assert shape(flow.tree) == ("seq", ["discovery", ("par", ["save", "log"])])
    assert flow.expression == "discovery | save, log"
    flow.run()
    assert rec.before("discovery", "save") and rec.before("discovery", "log")


def test_seed_list_of_sets(rec):
    source, target, compose = rec.sync("source"), rec.async_("target"), rec.sync("compose")
    s3_logger, notify = rec.async_("s3_logger"), rec.sync("notify")
    flow = DataFlow([{source, target}, compose, {s3_logger, notify}])
    top = flow.tree
    assert isinstance(top, Sequence) and len(top.children) == 3
    first, middle, last = top.children
    assert isinstance(first, Parallel) and {shape(c) for c in first.children} == {
        "source", "target"}
    assert shape(middle) == "compose"
    assert isinstance(last, Parallel) and {shape(c) for c in last.children} == {
        "s3_logger", "notify"}
    flow.run()
    for src in ("source", "target"):
        assert rec.before(src, "compose")
    for dst in ("s3_logger", "notify"):
        assert rec.before("compose", dst)


def test_sets_are_ordered_by_name_so_positions_are_stable(rec):
    flow = DataFlow([frozenset({rec.sync("zeta"), rec.sync("alpha"), rec.sync("mid")})])
    assert flow.expression == "alpha, mid, zeta"
    positions = {c.alias: c.position for c in flow.components}
    assert positions == {"alpha": "stage 1, member 1", "mid": "stage 1, member 2",
                         "zeta": "stage 1, member 3"}


def test_seed_tier_layout_built_by_tuple_arithmetic(rec):
    data_flow_source = rec.sync("source_1"), rec.async_("source_2"), rec.sync("source_3")
    data_flow_transform = (rec.sync("transformation"),)
    data_flow_destination = rec.async_("destination_1"), rec.sync("destination_2")
    definition = (data_flow_source, *data_flow_transform, data_flow_destination)
    flow = DataFlow(definition)
    assert flow.expression == ("source_1, source_2, source_3 | transformation | "
                               "destination_1, destination_2")
    kinds = {c.alias: c.kind for c in flow.components}
    assert kinds == {"source_1": "source", "source_2": "source", "source_3": "source",
                     "transformation": "transform", "destination_1": "destination",
                     "destination_2": "destination"}


def test_nesting_alternates_to_any_depth(rec):
    a, b, c, d, e, f, g = (rec.sync(n) for n in "abcdefg")
    # sequence > parallel > sequence > parallel > sequence
    flow = DataFlow((a, (b, (c, (d, (e, f)))), g))
    assert shape(flow.tree) == (
        "seq", ["a", ("par", ["b", ("seq", ["c", ("par", ["d", ("seq", ["e", "f"])])])]), "g"])
    assert flow.expression == "a | b, (c | d, (e | f)) | g"
    flow.run()
    assert rec.before("a", "b") and rec.before("a", "c")
    assert rec.before("c", "d") and rec.before("c", "e") and rec.before("e", "f")
    for name in "bcdef":
        assert rec.before(name, "g")


def test_lists_are_always_sequences_and_sets_always_parallel(rec):
    a, b, c, d = (rec.sync(n) for n in "abcd")
    flow = DataFlow([a, [b, c], frozenset({d})])
    assert shape(flow.tree) == ("seq", ["a", "b", "c", "d"])
    flow = DataFlow([a, ({b, c}, d)])  # a tuple in a list is parallel; a set in it parallel
    assert shape(flow.tree) == ("seq", ["a", ("par", ["b", "c", "d"])])


def test_one_member_groups_collapse_and_same_kinds_flatten(rec):
    a, b, c, d = (rec.sync(n) for n in "abcd")
    assert shape(DataFlow((a, (b,), c)).tree) == ("seq", ["a", "b", "c"])
    assert shape(DataFlow(((a,),)).tree) == ("seq", ["a"])
    assert shape(DataFlow((a, ((b, c),), d)).tree) == ("seq", ["a", "b", "c", "d"])


def test_parallel_members_really_overlap(rec):
    """Both members of a group are running at once: each waits to see the other start."""
    started = {"left": threading.Event(), "right": threading.Event()}

    def left() -> dict:
        started["left"].set()
        return {"left_saw_right": started["right"].wait(5)}

    async def right() -> dict:
        started["right"].set()
        for _ in range(500):
            if started["left"].is_set():
                return {"right_saw_left": True}
            await asyncio.sleep(0.01)
        return {"right_saw_left": False}

    result = DataFlow(((left, right),)).run()
    assert result["left_saw_right"] is True and result["right_saw_left"] is True


def test_components_report_alias_stage_kind_and_position(rec):
    flow = DataFlow(((rec.sync("s1"), rec.sync("s2")), rec.sync("m"),
                     (rec.sync("o1"), (rec.sync("o2"), rec.sync("o3")))))
    summary = [(c.alias, c.stage, c.kind, c.position) for c in flow.components]
    assert summary == [
        ("s1", 1, "source", "stage 1, member 1"),
        ("s2", 1, "source", "stage 1, member 2"),
        ("m", 2, "transform", "stage 2"),
        ("o1", 3, "destination", "stage 3, member 1"),
        # o2 is followed by o3 on its path: in the middle, so a transform
        ("o2", 3, "transform", "stage 3, member 2, step 1"),
        ("o3", 3, "destination", "stage 3, member 2, step 2"),
    ]


def test_a_step_names_the_instance_so_one_function_can_appear_twice(rec):
    def load(which: str = "") -> None:
        return None

    flow = DataFlow(((step(load, name="left"), step(load, name="right")), rec.sync("merge")))
    assert flow.expression == "left, right | merge"


# ------------------------------------------------------------------------------- errors


def ok() -> None:
    return None


def other() -> None:
    return None


class NotCallable:
    pass


class CallableInstances:
    def __call__(self) -> None:
        return None


@pytest.mark.parametrize(
    ("definition", "position", "what"),
    [
        ((ok, ()), "stage 2", "empty group"),
        ((ok, (other, ())), "stage 2, member 2", "empty group"),
        ([ok, set()], "stage 2", "empty group"),
        ((), "the flow", "empty group"),
        ((ok, (42, other)), "stage 2, member 1", "42"),
        ((ok, (other, "text")), "stage 2, member 2", "'text'"),
        ((ok, (other, (ok, None))), "stage 2, member 2, step 2", "None"),
        ((ok, NotCallable), "stage 2", "NotCallable"),
        ((ok, (NotCallable(), other)), "stage 2, member 1", "not callable"),
        ((ok, CallableInstances), "stage 2", "CallableInstances()"),
        (42, "stage 1", "42"),
    ],
    ids=["empty-stage", "empty-nested", "empty-set", "empty-flow", "int", "str", "None-deep",
         "class", "instance", "class-with-call", "bare-int"],
)
def test_definition_errors_name_the_position(definition, position, what):
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow(definition)
    message = str(caught.value)
    assert message.startswith(position + ":"), message
    assert what in message
    assert isinstance(caught.value, ValueError)


def test_a_class_is_rejected_with_advice_to_pass_an_instance():
    with pytest.raises(FlowDefinitionError, match=r"pass an instance, e\.g\. CallableInstances"):
        DataFlow((ok, CallableInstances))
    DataFlow((ok, CallableInstances()))  # an instance is fine


def test_definition_errors_happen_at_construction_before_anything_runs():
    ran = []

    def first() -> None:
        ran.append("first")

    with pytest.raises(FlowDefinitionError):
        DataFlow((first, ()))
    assert ran == []


def test_one_alias_twice_is_an_error_naming_both_positions():
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow((ok, (other, ok)))
    message = str(caught.value)
    assert "'ok'" in message and "stage 1" in message and "stage 2, member 2" in message
