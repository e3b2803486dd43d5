"""Pipe expressions (DESIGN section 2): parse, aliases, parentheses, references, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adf_core import DataFlow, ExpressionSyntaxError, FlowDefinitionError, step
from adf_core.engine.definition import Leaf, Parallel, Sequence

HERE = Path(__file__).parent


def shape(node):
    if isinstance(node, Leaf):
        ref = node.step.ref or node.alias
        return node.alias if ref == node.alias else f"{node.alias}={ref}"
    kind = "par" if isinstance(node, Parallel) else "seq"
    assert isinstance(node, (Parallel, Sequence))
    return (kind, [shape(c) for c in node.children])


class Registry:
    """A resolver that makes a fresh recording component for every name it is asked for."""

    def __init__(self, known=None) -> None:
        self.known = known
        self.asked: list[tuple[str, str]] = []

    def __call__(self, name: str, kind: str):
        self.asked.append((name, kind))
        if self.known is not None and name not in self.known:
            raise FlowDefinitionError(f"unknown {kind} {name!r}")

        def component(upstream: dict) -> dict:
            return {f"{name}.saw": sorted(upstream)}

        component.__name__ = name
        return component


def test_alias_equals_name_names_instances():
    resolver = Registry()
    flow = DataFlow.parse("source=db, target=db | compare | s3, notify", resolver=resolver)
    assert flow.expression == "source=db, target=db | compare | s3, notify"
    assert str(flow) == flow.expression
    summary = [(c.alias, c.name, c.kind, c.position) for c in flow.components]
    assert summary == [
        ("source", "db", "source", "stage 1, member 1"),
        ("target", "db", "source", "stage 1, member 2"),
        ("compare", "compare", "transform", "stage 2"),
        ("s3", "s3", "destination", "stage 3, member 1"),
        ("notify", "notify", "destination", "stage 3, member 2"),
    ]
    result = flow.run()
    assert result["compare.saw"] == ["source", "target"]
    assert result["s3.saw"] == ["compare"]


def test_resolver_is_asked_by_position():
    resolver = Registry()
    DataFlow.parse("a, b | m1 | m2 | c, d", resolver=resolver)
    assert resolver.asked == [("a", "source"), ("b", "source"), ("m1", "transform"),
                              ("m2", "transform"), ("c", "destination"), ("d", "destination")]
    one = Registry()
    DataFlow.parse("only", resolver=one)
    assert one.asked == [("only", "source")]


def test_parentheses_group_a_sequence_inside_a_parallel_member():
    flow = DataFlow.parse("a | (b | c), d | e", resolver=Registry())
    assert shape(flow.tree) == ("seq", ["a", ("par", [("seq", ["b", "c"]), "d"]), "e"])
    assert flow.expression == "a | (b | c), d | e"
    result = flow.run()
    assert result["b.saw"] == ["a"] and result["d.saw"] == ["a"]
    assert result["c.saw"] == ["b"]
    assert result["e.saw"] == ["c", "d"]


def test_redundant_parentheses_and_whitespace_are_canonicalised():
    flow = DataFlow.parse("  ((a)) |\t(b, (c))|((d | e))  ", resolver=Registry())
    assert flow.expression == "a | b, c | d | e"


def test_kind_follows_the_canonical_position_even_with_parentheses():
    resolver = Registry()
    flow = DataFlow.parse("(a | b) | c", resolver=resolver)
    assert flow.expression == "a | b | c"
    assert dict(resolver.asked) == {"a": "source", "b": "transform", "c": "destination"}
    assert [c.kind for c in flow.components] == ["source", "transform", "destination"]


def test_module_attr_references_are_imported(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    flow = DataFlow.parse(
        "adf_engine_sample_jobs:load_orders | adf_engine_sample_jobs:count_orders"
        " | report=adf_engine_sample_jobs:Jobs.report")
    # The alias of module:attr is the attribute's own name (its __name__), as for Python flows.
    assert [c.alias for c in flow.components] == ["load_orders", "count_orders", "report"]
    assert flow.expression.startswith("load_orders=adf_engine_sample_jobs:load_orders | ")
    result = flow.run({"day": "2026-11-24"})
    assert result["orders"] == [{"id": 1, "day": "2026-11-24"}, {"id": 2, "day": "2026-11-24"}]
    assert result["count"] == 2
    assert result["report"] == "2 orders"


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("adf_engine_no_such_module:x", "cannot import module 'adf_engine_no_such_module'"),
        ("adf_engine_sample_jobs:missing", "has no attribute 'missing'"),
        ("adf_engine_sample_jobs:not_callable", "is not callable"),
    ],
)
def test_bad_module_attr_references(monkeypatch, expression, needle):
    monkeypatch.syspath_prepend(str(HERE))
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow.parse(f"adf_engine_sample_jobs:load_orders | {expression}")
    message = str(caught.value)
    assert needle in message
    lines = message.splitlines()
    assert lines[-1].index("^") == lines[-2].index(expression)  # caret under the name


def test_a_resolver_error_points_at_the_name():
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow.parse("a | mreg | c", resolver=Registry(known={"a", "c", "merge"}))
    lines = str(caught.value).splitlines()
    assert "unknown transform 'mreg'" in lines[0]
    assert lines[-1].index("^") == lines[-2].index("mreg")


def test_a_resolver_lookup_error_becomes_a_definition_error():
    def resolver(name: str, kind: str):
        raise KeyError(name)

    with pytest.raises(FlowDefinitionError):
        DataFlow.parse("a", resolver=resolver)


@pytest.mark.parametrize(
    ("expression", "column", "reason"),
    [
        ("a | | b", 5, "expected a component name or '(', found '|'"),
        ("a |", 4, "found the end of the expression"),
        ("a, (b | c", 10, "expected ')'"),
        ("a $ b", 3, "unexpected character '$'"),
        ("", 1, "expected a component name"),
        ("a b", 3, "expected '|', ',' or the end, found 'b'"),
        ("x=", 3, "a component name after 'x='"),
        ("a | m.x=db", 5, "must be a plain identifier"),
        ("a | b)", 6, "found ')'"),
        ("a=b=c", 4, "found '='"),
    ],
)
def test_syntax_errors_show_a_caret_at_the_column(expression, column, reason):
    with pytest.raises(ExpressionSyntaxError) as caught:
        DataFlow.parse(expression, resolver=Registry())
    error = caught.value
    assert isinstance(error, FlowDefinitionError)
    assert error.column == column
    assert reason in error.reason
    first, echoed, pointer = str(error).splitlines()
    assert first.endswith(f"at column {column}")
    offset = echoed.index(expression) if expression else len(echoed)
    assert pointer.index("^") == offset + column - 1
    assert pointer.strip() == "^"


def test_a_non_string_expression_is_a_definition_error():
    with pytest.raises(FlowDefinitionError, match="must be a string"):
        DataFlow.parse(("a", "b"), resolver=Registry())  # type: ignore[arg-type]


def test_options_for_an_unknown_alias_suggest_the_close_one():
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow.parse("source=db | sink", resolver=Registry(), options={"sorce": {"x": 1}})
    message = str(caught.value)
    assert "'sorce'" in message and "did you mean 'source'" in message


def test_an_unknown_option_suggests_the_close_one():
    def load(url: str, batch_size: int = 10) -> None:
        return None

    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow.parse("load", resolver=lambda name, kind: load,
                       options={"load": {"batch_sise": "5"}})
    message = str(caught.value)
    assert "'batch_sise'" in message and "did you mean 'batch_size'" in message
    assert "url, batch_size" in message


def test_settings_apply_per_alias_and_unknown_settings_are_named():
    flow = DataFlow.parse("a | b", resolver=Registry(),
                          settings={"b": {"retries": 2, "timeout": 1.5}}, retries=1)
    by_alias = {c.alias: c for c in flow.components}
    assert (by_alias["a"].retries, by_alias["a"].timeout) == (1, None)
    assert (by_alias["b"].retries, by_alias["b"].timeout) == (2, 1.5)
    with pytest.raises(FlowDefinitionError, match="did you mean 'retries'"):
        DataFlow.parse("a | b", resolver=Registry(), settings={"b": {"retrys": 2}})
    with pytest.raises(FlowDefinitionError, match="did you mean 'bb'"):
        DataFlow.parse("a | bb", resolver=Registry(), settings={"b": {"retries": 2}})


def test_parse_passes_keyword_defaults_to_the_flow():
    flow = DataFlow.parse("a", resolver=Registry(), timeout=3.0, max_concurrency=2)
    assert flow.components[0].timeout == 3.0
    assert flow.plan.defaults.max_concurrency == 2


def test_options_that_are_not_a_mapping_are_a_clear_definition_error():
    with pytest.raises(FlowDefinitionError, match="'a'"):
        DataFlow.parse("a", resolver=Registry(), options={"a": "x=1"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("expression", "kinds"),
    [
        ("a | (b | c), d", {"a": "source", "b": "transform", "c": "destination",
                            "d": "destination"}),
        ("a, (b | c) | d", {"a": "source", "b": "source", "c": "transform",
                            "d": "destination"}),
        ("a | b | c", {"a": "source", "b": "transform", "c": "destination"}),
    ],
)
def test_a_name_resolves_by_its_position_on_its_path(expression, kinds):
    asked: dict[str, str] = {}

    def resolver(name: str, kind: str):
        asked[name] = kind

        def component() -> None:
            return None

        component.__name__ = name
        return component

    DataFlow.parse(expression, resolver=resolver)
    assert asked == kinds


class _NotCallableInstances:
    pass


class _CallableInstances:
    def __call__(self) -> None:
        pass


@pytest.mark.parametrize(("value", "problem"), [
    (42, "42 (int) is not callable"),
    ("text", "'text' (str) is not callable"),
    (_NotCallableInstances, "_NotCallableInstances is a class whose instances are not callable"),
    (_CallableInstances, "_CallableInstances is a class; pass an instance"),
])
def test_a_resolver_returning_a_non_component_is_refused_before_anything_runs(
        value: Any, problem: str) -> None:
    ran = []

    def source() -> dict[str, int]:
        ran.append("source")
        return {"n": 1}

    def resolver(name: str, kind: str) -> Any:
        return source if name == "source" else value

    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow.parse("source | broken", resolver=resolver)
    message = str(caught.value)
    assert message.startswith(f"'broken' (as the resolver returned it) cannot be a component: "
                              f"{problem}")
    assert "source | broken\n           ^" in message
    assert ran == []


def test_a_step_around_a_class_is_refused_like_the_class() -> None:
    with pytest.raises(FlowDefinitionError, match="stage 2: _NotCallableInstances is a class"):
        DataFlow((lambda: None, step(_NotCallableInstances, name="x")))
    with pytest.raises(FlowDefinitionError, match="'m:x' \\(imported\\) cannot be a component"):
        DataFlow.parse("m:x", resolver=lambda name, kind: step(_CallableInstances))
