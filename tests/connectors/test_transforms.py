"""merge, split, filter (and its condition language), compare."""

from __future__ import annotations

import json

import pytest

from adf_core import DataFlow
from adf_core.records import iter_records
from adf_plugins.conditions import ConditionError, compile_condition
from adf_plugins.transforms import compare, filter_records, merge, split

EU = [
    {"id": 1, "region": "EU", "amount": 120, "status": "paid"},
    {"id": 2, "region": "EU", "amount": 80, "status": "paid"},
]
US = [
    {"id": 3, "region": "US", "amount": 300, "status": "open"},
    {"id": 4, "region": "US", "amount": 150, "status": "paid"},
]


def records(stream):
    return list(iter_records(stream))


def test_merge_concatenates_every_input_in_definition_order():
    upstream = {"eu": iter([EU]), "none": None, "us": iter(US)}
    assert records(merge(upstream=upstream)) == EU + US


def test_merge_reads_named_context_keys():
    assert records(merge(context={"eu": EU, "us": US}, input=["us", "eu"])) == US + EU


def test_merge_on_a_key_joins_records():
    customers = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]
    totals = [{"id": 2, "total": 5}, {"id": 3, "total": 7}]
    assert records(merge(upstream={"c": customers, "t": totals}, on=["id"])) == [
        {"id": 1, "name": "Ada"},
        {"id": 2, "name": "Bob", "total": 5},
        {"id": 3, "total": 7},
    ]
    with pytest.raises(KeyError, match="record 2 of input 't' has no key field 'id'"):
        records(merge(upstream={"c": customers, "t": [{"id": 1}, {"x": 1}]}, on=["id"]))


def test_split_routes_records_into_context_keys():
    parts = split(by="region", upstream={"all": EU + US})
    assert parts == {"EU": EU, "US": US}
    assert split(by="region", upstream={"all": EU}, prefix="r_") == {"r_EU": EU}
    with pytest.raises(KeyError, match="record 2 of input 'all' has no value for 'region'"):
        split(by="region", upstream={"all": [EU[0], {"id": 9}]})
    assert split(by="region", upstream={"all": [{"id": 9}]}, default="other") == {
        "other": [{"id": 9}]
    }


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def read_jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_split_feeds_different_destinations_through_the_engine(tmp_path):
    flow = DataFlow.parse(
        "file | split | eu=file, us=file",
        options={
            "file": {"path": write_jsonl(tmp_path / "orders.jsonl", EU + US)},
            "split": {"by": "region"},
            "eu": {"path": str(tmp_path / "eu.jsonl"), "input": "EU"},
            "us": {"path": str(tmp_path / "us.jsonl"), "input": "US"},
        },
    )
    flow.run({})
    assert read_jsonl(tmp_path / "eu.jsonl") == EU
    assert read_jsonl(tmp_path / "us.jsonl") == US


def test_filter_keeps_matching_records():
    kept = records(filter_records('amount > 100 and status == "paid"', upstream={"a": EU + US}))
    assert kept == [EU[0], US[1]]
    assert records(
        filter_records("region in ['US'] and not (amount < 200)", upstream={"a": EU + US})
    ) == [US[0]]
    assert records(filter_records("missing > 1 or missing == null", upstream={"a": EU})) == EU


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("__import__('os')", "function calls are not allowed"),
        ("__import__('os').system('true')", "not allowed"),
        ("amount.__class__", "attribute access is not allowed"),
        ("().__class__.__bases__", "attribute access is not allowed"),
        ("status[0] == 'p'", "subscripts are not allowed"),
        ("[x for x in status]", "ListComp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("__builtins__", "the name '__builtins__' is not allowed"),
        ("amount ** 99", "unsupported operator"),
        ("amount >", "invalid condition"),
    ],
)
def test_filter_rejects_anything_but_the_condition_language(condition, message):
    with pytest.raises(ConditionError, match=message):
        compile_condition(condition)
    with pytest.raises(ConditionError):
        records(filter_records(condition, upstream={"a": EU}))


def test_a_condition_that_cannot_compare_names_the_record():
    data = [{"amount": 1}, {"amount": "many"}]
    with pytest.raises(ConditionError, match=r"record 2 of input 'a'.*'many' and 100 do not"):
        records(filter_records("amount > 100", upstream={"a": data}))


def test_filter_runs_as_a_stage_through_the_engine(tmp_path, capsys):
    DataFlow.parse(
        "file | filter | stdout",
        options={
            "file": {"path": write_jsonl(tmp_path / "orders.jsonl", EU + US)},
            "filter": {"where": "amount >= 150"},
            "stdout": {"format": "jsonl"},
        },
    ).run({})
    out = capsys.readouterr().out
    assert [json.loads(x)["id"] for x in out.splitlines()] == [3, 4], out


SOURCE = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c", "extra": 1}]
TARGET = [{"id": 2, "v": "B"}, {"id": 3, "v": "c", "extra": 1}, {"id": 4, "v": "d"}]


def test_compare_diffs_source_against_target():
    result = compare(key=["id"], upstream={"source": iter(SOURCE), "target": TARGET})
    assert result == {"added": [SOURCE[0]], "removed": [TARGET[2]], "changed": [SOURCE[1]]}
    only_extra = compare(key="id", upstream={"source": SOURCE, "target": TARGET}, fields=["extra"])
    assert only_extra["changed"] == []


def test_compare_needs_exactly_two_inputs_and_a_key():
    with pytest.raises(ValueError, match=r"exactly two inputs.*got 1: 'source'"):
        compare(key=["id"], upstream={"source": SOURCE})
    with pytest.raises(ValueError, match="needs a `key`"):
        compare(key=[], upstream={"source": SOURCE, "target": TARGET})


def test_compare_output_written_whole_labels_each_record(tmp_path):
    flow = DataFlow.parse(
        "source=file, target=file | compare | all=file, kind=file",
        options={
            "source": {"path": write_jsonl(tmp_path / "source.jsonl", SOURCE)},
            "target": {"path": write_jsonl(tmp_path / "target.jsonl", TARGET)},
            "compare": {"key": "id"},
            "all": {"path": str(tmp_path / "all.jsonl")},
            "kind": {"path": str(tmp_path / "changed.jsonl"), "input": "changed"},
        },
    )
    result = flow.run({})
    assert result["changed"] == [SOURCE[1]]
    labelled = [(r["id"], r["_change"]) for r in read_jsonl(tmp_path / "all.jsonl")]
    assert labelled == [(1, "added"), (4, "removed"), (2, "changed")]
    assert read_jsonl(tmp_path / "changed.jsonl") == [SOURCE[1]]  # one kind alone: no label


def test_compare_treats_equal_numbers_of_different_types_as_unchanged():
    from decimal import Decimal

    source = [{"id": 1, "amount": Decimal("0.10")}, {"id": 2, "amount": Decimal("2.50")}]
    target = [{"id": 1, "amount": 0.1}, {"id": 2, "amount": 2.25}]
    result = compare(key="id", upstream={"source": source, "target": target})
    assert [r["id"] for r in result["changed"]] == [2]
