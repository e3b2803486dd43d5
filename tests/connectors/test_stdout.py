"""The stdout destination: table, jsonl, json."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adf_plugins.stdout import write_stdout

ROWS = [
    {"id": 1, "name": "Ada", "amount": Decimal("12.50")},
    {"id": 10, "name": "Bob", "amount": None, "note": "x" * 60},
]


def test_table_aligns_columns_and_counts_records(capsys):
    write_stdout(upstream={"src": iter([ROWS])})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "name", "amount", "note"]
    assert lines[2].startswith(" 1  Ada") and "12.50" in lines[2]
    assert lines[3].startswith("10  Bob")
    assert lines[3].endswith("x" * 39 + "…")
    assert lines[-1] == "(2 records)"


def test_jsonl_and_json_stream_every_record(capsys):
    written = write_stdout(format="jsonl", upstream={"a": ROWS, "b": iter(ROWS)})
    out = capsys.readouterr().out
    assert [json.loads(x)["id"] for x in out.splitlines()] == [1, 10, 1, 10]
    assert written.records == 4
    write_stdout(format="json", upstream={"a": ROWS}, limit=1)
    assert json.loads(capsys.readouterr().out) == [{"id": 1, "name": "Ada", "amount": 12.5}]
    write_stdout(format="json", upstream={"a": []})
    assert json.loads(capsys.readouterr().out) == []


def test_an_empty_table_and_an_unknown_format(capsys):
    write_stdout(upstream={})
    assert capsys.readouterr().out == "(no records)\n"
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        write_stdout(format="xml", upstream={"a": ROWS})
