"""Calling components (DESIGN section 3): arguments chosen by name, in a fixed order."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path

import pytest

from adf_core import DataFlow, FlowDefinitionError, MissingInputError, step

# ------------------------------------------------------------------- precedence, rule by rule


def test_a_bound_option_beats_the_context():
    def pick(x):
        return {"got": x}

    result = DataFlow(step(pick, options={"x": "option"})).run({"x": "context"})
    assert result["got"] == "option"


def test_a_bound_option_beats_the_reserved_names():
    def pick(upstream, context):
        return {"got": (upstream, context)}

    flow = DataFlow((lambda: 1, step(pick, options={"upstream": "u", "context": "c"})))
    assert flow.run()["got"] == ("u", "c")


def test_reserved_names_beat_context_keys_of_the_same_name():
    def first() -> int:
        return 7

    def pick(upstream, context):
        return {"got_upstream": upstream, "got_context_type": type(context).__name__}

    result = DataFlow((first, pick)).run({"upstream": "param", "context": "param"})
    assert result["got_upstream"] == {"first": 7}
    assert result["got_context_type"] == "mappingproxy"


def test_the_context_beats_the_default():
    def pick(x="default"):
        return {"got": x}

    assert DataFlow(pick).run({"x": "context"})["got"] == "context"
    assert DataFlow(pick).run({})["got"] == "default"


def test_outputs_of_earlier_stages_reach_later_ones_by_name():
    def load(day):
        return {"rows": [day, day]}

    async def count(rows):
        return {"n": len(rows)}

    def report(n, rows, day):
        return {"text": f"{n} rows on {day}"}

    assert DataFlow((load, count, report)).run({"day": "mon"})["text"] == "2 rows on mon"


def test_upstream_holds_each_member_of_the_previous_stage_in_definition_order():
    def b() -> dict:
        return {"k": 1}

    async def a() -> list:
        return [1, 2]

    def c() -> None:
        return None

    seen = {}

    def after(upstream):
        seen["upstream"] = upstream

    def last(upstream):
        seen["last"] = upstream

    DataFlow(((b, a, c), after, last)).run()
    assert list(seen["upstream"]) == ["b", "a", "c"]  # definition order, not alphabetical
    assert seen["upstream"] == {"b": {"k": 1}, "a": [1, 2], "c": None}  # raw values
    assert seen["last"] == {"after": None}


def test_the_first_stage_gets_an_empty_upstream():
    def first(upstream):
        return {"got": upstream}

    assert DataFlow(first).run()["got"] == {}


def test_context_is_a_read_only_view_of_everything_so_far():
    seen = {}

    def first() -> dict:
        return {"a": 1}

    def second(context):
        seen["keys"] = sorted(context)
        try:
            context["b"] = 2  # type: ignore[index]
        except TypeError:
            seen["read_only"] = True

    DataFlow((first, second)).run({"p": 0})
    assert seen == {"keys": ["a", "p"], "read_only": True}


def test_kwargs_receives_the_whole_context():
    def first() -> dict:
        return {"a": 1}

    def everything(x, **kwargs):
        return {"got": (x, kwargs)}

    result = DataFlow((first, everything)).run({"x": 0, "p": "q"})
    assert result["got"] == (0, {"a": 1, "p": "q"})


def test_parallel_members_see_the_context_as_it_was_when_the_group_started():
    order = []

    async def fast() -> dict:
        order.append("fast")
        return {"fast_key": 1}

    async def slow(context):
        await asyncio.sleep(0.05)
        order.append("slow")
        return {"slow_saw_fast": "fast_key" in context}

    def sync_slow(**kwargs):
        threading.Event().wait(0.05)
        return {"sync_saw_fast": "fast_key" in kwargs}

    def later(fast_key, slow_saw_fast, sync_saw_fast):
        return {"later_saw": (fast_key, slow_saw_fast, sync_saw_fast)}

    result = DataFlow(((fast, slow, sync_slow), later)).run()
    assert order == ["fast", "slow"]  # fast had really finished before slow looked
    assert result["later_saw"] == (1, False, False)


# ------------------------------------------------------------------------- missing input


def test_missing_input_names_component_parameter_and_available_keys_and_nothing_runs():
    ran = []

    def first() -> dict:
        ran.append("first")
        return {"rows": []}

    def needs(rows, endpoint):
        ran.append("needs")  # must never happen

    def never() -> None:
        ran.append("never")

    with pytest.raises(MissingInputError) as caught:
        DataFlow((first, needs, never)).run({"day": "mon", "endpont": "x"})
    error = caught.value
    assert (error.component, error.parameter) == ("needs", "endpoint")
    assert error.available == ["day", "endpont", "rows"]
    assert error.position == "stage 2"
    message = str(error)
    assert "'needs'" in message and "'endpoint'" in message
    assert "day, endpont, rows" in message
    assert ran == ["first"]


def test_missing_input_is_raised_before_an_async_component_runs_too():
    ran = []

    async def needs(endpoint):
        ran.append("needs")

    with pytest.raises(MissingInputError):
        DataFlow(needs).run()
    assert ran == []


def test_a_positional_only_parameter_is_bound_by_name_too():
    def pos(x, /, y=2):
        return {"got": (x, y)}

    assert DataFlow(pos).run({"x": 1})["got"] == (1, 2)
    with pytest.raises(MissingInputError, match="'x'"):
        DataFlow(pos).run({})


# ----------------------------------------------------------------------- option conversion


def typed(n: int, ratio: float, flag: bool, path: Path, names: list[str], plain: str = ""):
    return {"got": (n, ratio, flag, path, names, plain)}


def test_option_strings_are_converted_by_annotation():
    options = {"typed": {"n": "3", "ratio": "0.5", "flag": "yes", "path": "/tmp/x.csv",
                         "names": "a, b,c", "plain": "42"}}
    flow = DataFlow.parse("typed", resolver=lambda name, kind: typed, options=options)
    assert flow.run()["got"] == (3, 0.5, True, Path("/tmp/x.csv"), ["a", "b", "c"], "42")


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("on", True),
                                                 ("True", True)])
def test_booleans_from_strings(value, expected):
    def flag(on: bool):
        return {"on": on}

    assert DataFlow(step(flag, options={"on": value})).run()["on"] is expected


def test_non_string_options_pass_through_untouched():
    flow = DataFlow(step(typed, options={"n": 3, "ratio": 1, "flag": 0, "path": "p",
                                         "names": ("x",)}))
    assert flow.run()["got"] == (3, 1, 0, Path("p"), ("x",), "")


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [("n", "three", "'three' is not a valid int"),
     ("ratio", "half", "'half' is not a valid float"),
     ("flag", "maybe", "'maybe' is not a boolean")],
)
def test_a_bad_option_value_is_a_definition_error_naming_the_option(option, value, needle):
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow.parse("job=typed", resolver=lambda name, kind: typed,
                       options={"job": {option: value}})
    message = str(caught.value)
    assert f"job.{option}" in message and needle in message


def test_an_option_naming_no_parameter_is_an_error_with_did_you_mean():
    def load(url: str, query: str = "") -> None:
        return None

    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow(step(load, options={"qurey": "select 1"}))
    assert "did you mean 'query'" in str(caught.value)


def test_options_go_through_kwargs_when_the_component_takes_any():
    def anything(**kwargs):
        return {"got": kwargs}

    result = DataFlow(step(anything, options={"colour": "red"})).run({"p": 1})
    assert result["got"] == {"colour": "red", "p": 1}


def test_a_component_parameter_called_timeout_or_name_is_never_ambiguous():
    def fetch(timeout: float, name: str):
        return {"got": (timeout, name)}

    flow = DataFlow(step(fetch, name="fetcher", timeout=5, options={"timeout": "0.5"}))
    assert flow.components[0].timeout == 5
    assert flow.run({"name": "x"})["got"] == (0.5, "x")


# ------------------------------------------------------------- other kinds of callables


class Scale:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __call__(self, value: int) -> dict:
        return {"scaled": value * self.factor, "thread": threading.current_thread().name}


class AsyncScale:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    async def __call__(self, value: int) -> dict:
        await asyncio.sleep(0)
        return {"scaled": value * self.factor, "thread": threading.current_thread().name}


def multiply(factor: int, value: int) -> dict:
    return {"scaled": value * factor, "thread": threading.current_thread().name}


async def amultiply(factor: int, value: int) -> dict:
    return {"scaled": value * factor, "thread": threading.current_thread().name}


class Methods:
    def __init__(self) -> None:
        self.factor = 5

    async def method(self, value: int) -> dict:
        return {"scaled": value * self.factor, "thread": threading.current_thread().name}


MAIN = threading.main_thread().name


@pytest.mark.parametrize(
    ("component", "on_loop"),
    [(Scale(3), False), (AsyncScale(3), True), (functools.partial(multiply, 3), False),
     (functools.partial(amultiply, 3), True), (functools.partial(Scale(3)), False),
     (functools.partial(AsyncScale(3)), True)],
    ids=["callable-object", "async-callable-object", "partial", "partial-of-async",
         "partial-of-object", "partial-of-async-object"],
)
def test_callable_objects_and_partials(component, on_loop):
    result = DataFlow(component).run({"value": 2})
    assert result["scaled"] == 6
    # coroutines run on the loop (the main thread here); sync callables in a worker thread
    assert (result["thread"] == MAIN) is on_loop


def test_a_bound_async_method_runs_on_the_loop():
    result = DataFlow(Methods().method).run({"value": 2})
    assert result == {"value": 2, "scaled": 10, "thread": MAIN}


def test_callable_object_alias_is_its_class_name():
    assert DataFlow(Scale(1)).expression == "Scale"
    assert DataFlow(functools.partial(multiply, 1)).expression == "multiply"


async def fetch(x: int) -> dict:
    return {"y": x + 1}


def logged(fn):
    """A common decorator shape: a plain wrapper around a coroutine function."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def test_a_decorated_coroutine_function_is_awaited_or_clearly_rejected():
    from adf_core import FlowError

    try:
        result = DataFlow(logged(fetch)).run({"x": 1})
    except FlowError as error:
        assert "coroutine" in str(error) or "await" in str(error)
        return
    leftover = result.outputs.get("fetch")
    if asyncio.iscoroutine(leftover):
        leftover.close()  # keep the never-awaited warning out of the test run
    assert result["y"] == 2


def test_a_partial_keyword_is_bound_and_the_context_does_not_override_it():
    def pair(a, b):
        return {"pair": (a, b)}

    result = DataFlow((functools.partial(pair, a=1),)).run({"a": 99, "b": 2})
    assert result["pair"] == (1, 2)
