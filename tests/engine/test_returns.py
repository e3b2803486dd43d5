"""Return values and FlowResult (DESIGN section 3)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from adf_core import ComponentError, DataFlow, FlowError, FlowResult, step


def test_a_dict_is_merged_into_the_context():
    def source() -> dict:
        return {"sourceA": [1, 2, 3], "extra": "x"}

    result = DataFlow(source).run({"p": 1})
    assert dict(result) == {"p": 1, "sourceA": [1, 2, 3], "extra": "x"}
    assert result.outputs == {"source": {"sourceA": [1, 2, 3], "extra": "x"}}


def test_any_other_value_is_stored_under_the_alias():
    def rows() -> list:
        return [1, 2]

    async def total(rows) -> int:
        return sum(rows)

    result = DataFlow((rows, step(total, name="sum_of_rows"))).run()
    assert dict(result) == {"rows": [1, 2], "sum_of_rows": 3}
    assert result.outputs == {"rows": [1, 2], "sum_of_rows": 3}


@pytest.mark.parametrize("value", [0, "", [], False, {}], ids=repr)
def test_falsy_values_are_still_stored_except_none(value):
    def make():
        return value

    result = DataFlow(make).run()
    if isinstance(value, dict):
        assert dict(result) == {}  # an empty dict merges nothing
    else:
        assert result["make"] == value


def test_none_adds_nothing_to_the_context():
    def quiet() -> None:
        return None

    result = DataFlow(quiet).run({"p": 1})
    assert dict(result) == {"p": 1}
    assert result.outputs == {"quiet": None}  # the raw return value is still recorded


def test_a_later_stage_may_overwrite_a_key():
    def first() -> dict:
        return {"data": "raw", "keep": 1}

    def second(data) -> dict:
        return {"data": data.upper()}

    result = DataFlow((first, second)).run({"data": "param"})
    assert dict(result) == {"data": "RAW", "keep": 1}


def test_two_parallel_members_returning_different_values_for_one_key_name_both():
    def left() -> dict:
        return {"status": "ok", "left_only": 1}

    async def right() -> dict:
        return {"status": "failed"}

    with pytest.raises(FlowError) as caught:
        DataFlow(((left, right),)).run()
    message = str(caught.value)
    assert "'left'" in message and "'right'" in message and "'status'" in message
    assert not isinstance(caught.value, ComponentError)


def test_the_conflict_names_members_inside_nested_sequences():
    def a() -> None:
        return None

    def b() -> dict:
        return {"key": 1}

    def c() -> dict:
        return {"key": 2}

    with pytest.raises(FlowError) as caught:
        DataFlow(((a, (b,), (c,)),)).run()  # members b and c of one group
    message = str(caught.value)
    assert "'b'" in message and "'c'" in message

    with pytest.raises(FlowError) as caught:
        DataFlow(((b, (first_step, c)),)).run()  # c is step 2 of member 2
    message = str(caught.value)
    assert "'b'" in message and "'c'" in message, message


def first_step() -> None:
    return None


def test_a_dict_key_that_clashes_with_a_sibling_alias_is_a_conflict():
    def name() -> str:
        return "from alias"

    def other() -> dict:
        return {"name": "from dict"}

    with pytest.raises(FlowError, match="'name'"):
        DataFlow(((name, other),)).run()


def test_equal_values_from_parallel_members_are_fine():
    def left() -> dict:
        return {"status": 0, "rows": [1, 2]}

    async def right() -> dict:
        return {"status": 0, "rows": [1, 2]}

    result = DataFlow(((left, right),)).run()
    assert dict(result) == {"status": 0, "rows": [1, 2]}


def test_unequal_values_that_cannot_be_compared_are_a_conflict_not_a_crash():
    class Weird:
        def __eq__(self, other):
            raise RuntimeError("no comparing")

        __hash__ = object.__hash__

    def left() -> dict:
        return {"v": Weird()}

    def right() -> dict:
        return {"v": Weird()}

    with pytest.raises(FlowError, match="'v'"):
        DataFlow(((left, right),)).run()


# --------------------------------------------------------------------------- FlowResult


def test_flow_result_is_a_read_only_mapping_with_outputs_and_timings():
    async def slow() -> dict:
        await asyncio.sleep(0.02)
        return {"a": 1}

    def quick() -> int:
        return 5

    result = DataFlow((slow, quick)).run({"p": 0})
    assert isinstance(result, FlowResult) and isinstance(result, Mapping)
    assert dict(result) == {"p": 0, "a": 1, "quick": 5}
    assert len(result) == 3 and "a" in result and list(result) == ["p", "a", "quick"]
    assert result.get("missing") is None
    with pytest.raises(TypeError):
        result["a"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.update({"a": 2})  # type: ignore[attr-defined]
    assert result.outputs == {"slow": {"a": 1}, "quick": 5}
    assert set(result.timings) == {"slow", "quick"}
    assert all(isinstance(t, float) and t >= 0 for t in result.timings.values())
    assert result.timings["slow"] > result.timings["quick"]  # 20 ms sleep vs nothing
    assert isinstance(result.run_id, str) and result.run_id


def test_run_id_can_be_chosen_and_differs_per_run():
    flow = DataFlow(lambda: None)
    assert flow.run(run_id="abc").run_id == "abc"
    assert flow.run().run_id != flow.run().run_id


def test_a_flow_runs_many_times_and_never_mutates_the_params():
    def add(n) -> dict:
        return {"n": n + 1, "added": True}

    flow = DataFlow(add)
    params = {"n": 1}
    assert flow.run(params)["n"] == 2
    assert flow.run(params)["n"] == 2
    assert params == {"n": 1}


def test_await_flow_and_flow_run_agree():
    def load(x) -> dict:
        return {"y": x * 2}

    flow = DataFlow(load)
    assert dict(asyncio.run(flow({"x": 2}))) == dict(flow.run({"x": 2})) == {"x": 2, "y": 4}


def test_params_must_be_a_mapping():
    with pytest.raises(TypeError, match="mapping"):
        DataFlow(lambda: None).run([("a", 1)])  # type: ignore[arg-type]
