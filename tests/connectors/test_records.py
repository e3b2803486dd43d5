"""adf_core.records: every shape a component may receive reads as the same batches."""

from __future__ import annotations

import asyncio

import pytest

from adf_core.records import (
    LabelledDatasets,
    aiter_batches,
    aiter_records,
    count_records,
    is_dataset,
    iter_batches,
    iter_input_batches,
    iter_records,
    select_inputs,
)

ROWS = [{"id": i} for i in range(5)]


def gen_records():
    yield from ROWS


def gen_batches():
    yield ROWS[:2]
    yield ROWS[2:]


@pytest.mark.parametrize(
    "data",
    [
        ROWS,
        tuple(ROWS),
        [ROWS[:2], ROWS[2:]],
        gen_records(),
        gen_batches(),
        {"a": ROWS[:3], "b": ROWS[3:]},
    ],
    ids=["list", "tuple", "list-of-batches", "record-stream", "batch-stream", "dict-of-datasets"],
)
def test_every_shape_reads_as_the_same_records(data):
    assert list(iter_records(data)) == ROWS


def test_batches_pass_through_and_rebatch():
    assert list(iter_batches(ROWS)) == [ROWS]
    assert next(iter_batches(ROWS)) is ROWS
    assert [len(b) for b in iter_batches(ROWS, batch_size=2)] == [2, 2, 1]
    assert [len(b) for b in iter_batches(gen_records(), batch_size=2)] == [2, 2, 1]


def test_none_and_empty_are_nothing():
    assert list(iter_batches(None)) == []
    assert list(iter_batches([])) == []
    assert list(iter_batches({})) == []
    assert count_records({"a": None, "b": []}) == 0


def test_a_single_record_is_one_record():
    assert list(iter_records({"id": 1, "tags": ["x"]})) == [{"id": 1, "tags": ["x"]}]
    assert not is_dataset(["x", "y"])


def test_labelled_datasets_add_their_key():
    changes = LabelledDatasets(added=[{"id": 1}], removed=[{"id": 2}], changed=[])
    assert list(iter_records(changes)) == [
        {"id": 1, "_change": "added"},
        {"id": 2, "_change": "removed"},
    ]
    # the upstream dict of the destination wraps it: the labels survive
    assert next(iter_records({"compare": changes}))["_change"] == "added"


def test_a_non_record_item_is_a_clear_error():
    with pytest.raises(TypeError, match="expected a record"):
        list(iter_records(iter([{"id": 1}, 42])))
    with pytest.raises(TypeError, match="expected a dataset"):
        list(iter_records(42))


def test_select_inputs_reads_upstream_in_order_or_named_context_keys():
    upstream = {"a": ROWS[:1], "log": None, "b": ROWS[1:2]}
    assert [name for name, _ in select_inputs(upstream)] == ["a", "b"]
    context = {"eu": ROWS[:2], "us": ROWS[2:]}
    assert select_inputs(upstream, context, ["us"]) == [("us", ROWS[2:])]
    assert select_inputs(upstream, context, "us, eu") == [("us", ROWS[2:]), ("eu", ROWS[:2])]
    with pytest.raises(LookupError, match=r"'asia'.*available keys: eu, us"):
        select_inputs(upstream, context, ["asia"])
    pairs = list(iter_input_batches(upstream, batch_size=10))
    assert pairs == [("a", ROWS[:1]), ("b", ROWS[1:2])]


@pytest.mark.parametrize("value", [3, "done", [1, 2]])
def test_a_value_that_is_no_dataset_is_an_error_naming_it(value):
    # it used to be dropped silently: a destination then wrote "zero records"
    with pytest.raises(TypeError, match=rf"the output of 'n' is {type(value).__name__} .*not a "
                                        r"dataset"):
        select_inputs({"a": ROWS[:1], "n": value})
    with pytest.raises(TypeError, match=r"context key 'n' is .*not a dataset"):
        select_inputs({}, {"n": value}, ["n"])


def test_async_variants_accept_async_iterators():
    async def agen():
        yield ROWS[:2]
        for row in ROWS[2:]:
            yield row

    async def main():
        records = [r async for r in aiter_records({"x": agen()})]
        batches = [b async for b in aiter_batches(ROWS, batch_size=4)]
        return records, batches

    records, batches = asyncio.run(main())
    assert records == ROWS
    assert [len(b) for b in batches] == [4, 1]
