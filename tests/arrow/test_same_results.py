"""The same flows give the same results with Arrow batches and with dict records (DESIGN 13).

Every flow runs twice, ``batch_format`` ``arrow`` then ``records``, through ``adf run`` or
``DataFlow``, on data with ints, floats, text, NULLs, unicode, decimals, dates and
timestamps; text outputs must be byte for byte equal, parquet outputs equal as tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from arrow_helpers import adf, jsonl, read_output, rows, write_inputs

pa = pytest.importorskip("pyarrow")

from adf_core import DataFlow  # noqa: E402

IN_FORMATS = ("parquet", "csv", "plain", "jsonl")  # plain: a csv without quotes
OUT_FORMATS = ("parquet", "csv", "jsonl", "json")


def run_both(tmp_path: Path, expression: str, options: list[str], out: str) -> tuple[Any, Any]:
    """Run ``adf run EXPRESSION -o ... -o dst.path=OUT`` both ways; the two outputs."""
    results = []
    for fmt in ("arrow", "records"):
        target = tmp_path / fmt / out
        args = ["run", expression, "-q", *[x for o in options for x in ("-o", o)],
                "-o", f"dst.path={target}"]
        result = adf(args, env={"ADF_BATCH_FORMAT": fmt})
        assert result.exit_code == 0, result.output
        results.append(read_output(target))
    return results[0], results[1]


@pytest.mark.parametrize("out", OUT_FORMATS)
@pytest.mark.parametrize("source", IN_FORMATS)
def test_file_to_file_is_the_same_either_way(tmp_path: Path, inputs: dict[str, Path],
                                             source: str, out: str) -> None:
    arrow, records = run_both(tmp_path, "src=file | dst=file",
                              [f"src.path={inputs[source]}"], f"out.{out}")
    assert arrow == records
    assert arrow  # something was written


def test_the_values_survive_parquet_to_jsonl(tmp_path: Path, inputs: dict[str, Path]) -> None:
    run_both(tmp_path, "src=file | dst=file", [f"src.path={inputs['parquet']}"], "out.jsonl")
    first = jsonl(tmp_path / "arrow" / "out.jsonl")[0]
    assert first == {"id": 0, "qty": -4, "price": 0.1, "name": "Zoë", "region": "EU",
                     "amount": 0, "day": "2024-01-01", "at": "2024-03-01T00:00:00"}
    assert len(jsonl(tmp_path / "arrow" / "out.jsonl")) == 40


CONDITIONS = [
    "qty > 0",
    "qty == null",
    "qty != 2 and price >= 10",
    "not qty or region == 'EU'",
    "region in ['EU', 'APAC'] and name != null",
    "region not in ['EU', null]",
    "name == 'Zoë' or name == '東京'",
    "price * 2 - qty > 20",
    "price / qty > 1",
    "qty is null or price is not null",
    "amount > 50",
    "name + '!' == 'plain!'",
    "-qty < 0",
    "1 < qty < 5",
    "missing == null",
    "missing > 1",
    "qty % 3 == 1",
]


@pytest.mark.parametrize("where", CONDITIONS)
@pytest.mark.parametrize("source", ["parquet", "plain", "jsonl"])
def test_filter_is_the_same_either_way(tmp_path: Path, inputs: dict[str, Path], source: str,
                                       where: str) -> None:
    arrow, records = run_both(tmp_path, "src=file | filter | dst=file",
                              [f"src.path={inputs[source]}", f"filter.where={where}"],
                              "out.jsonl")
    assert arrow == records


FLAT_JSONL = "".join(
    json.dumps({"id": i, "ok": [True, False, None][i % 3], "n": None if i % 4 == 1 else i * 3,
                "f": i / 4, "s": ["a", "b", "Zoë"][i % 3], "none": None, "t": "2026-11-30"},
               ensure_ascii=False) + "\n" for i in range(50))
BOOL_CONDITIONS = ["ok", "not ok", "ok == true", "ok != false", "ok == null", "n > 20 and ok",
                   "none == null", "f * 2 > n", "s == 'Zoë' or t == '2026-11-30'"]


@pytest.mark.parametrize("where", BOOL_CONDITIONS)
def test_filter_on_jsonl_read_as_arrow_is_the_same_either_way(tmp_path: Path,
                                                              where: str) -> None:
    source = tmp_path / "flat.jsonl"
    source.write_text(FLAT_JSONL, encoding="utf-8")
    for out in ("out.jsonl", "out.csv"):
        arrow, records = run_both(tmp_path / out, "src=file | filter | dst=file",
                                  [f"src.path={source}", f"filter.where={where}"], out)
        assert arrow == records


def test_sql_and_merge_over_jsonl_are_the_same_either_way(tmp_path: Path,
                                                         inputs: dict[str, Path]) -> None:
    source = tmp_path / "flat.jsonl"
    source.write_text(FLAT_JSONL, encoding="utf-8")
    query = "select ok, count(*) as c, sum(n) as n, max(s) as s from t group by ok order by ok"
    arrow, records = run_both(tmp_path / "sql", "t=file | sql | dst=file",
                              [f"t.path={source}", f"sql.query={query}"], "out.jsonl")
    assert arrow == records
    arrow, records = run_both(tmp_path / "merge", "a=file, b=file | merge | dst=file",
                              [f"a.path={source}", f"b.path={inputs['jsonl']}"], "out.jsonl")
    assert arrow == records


def test_a_filter_that_cannot_compare_fails_the_same_way(tmp_path: Path,
                                                        inputs: dict[str, Path]) -> None:
    outputs = []
    for fmt in ("arrow", "records"):
        result = adf(["run", "src=file | filter | dst=file", "-o",
                      f"src.path={inputs['parquet']}", "-o", "filter.where=qty > 'x'",
                      "-o", f"dst.path={tmp_path / fmt}.jsonl"],
                     env={"ADF_BATCH_FORMAT": fmt})
        assert result.exit_code != 0
        outputs.append([line for line in result.output.splitlines()
                        if line.startswith("error:")])
    assert outputs[0] == outputs[1]
    assert "record 1 of input 'src'" in outputs[0][0]


@pytest.mark.parametrize("by", ["region", "qty", "day"])
def test_split_is_the_same_either_way(by: str) -> None:
    from adf_core.records import iter_records

    def source():
        return pa.Table.from_pylist(rows())

    results = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src | split | done", resolver=_resolve({"src": source,
                                                                       "done": done}),
                              options={"split": {"by": by, "default": "unknown",
                                                 "prefix": "p_"}},
                              batch_format=fmt)
        result = flow.run()
        parts = result.outputs["split"]
        results[fmt] = {key: list(iter_records(value)) for key, value in parts.items()}
    assert results["arrow"] == results["records"]
    assert len(results["arrow"]) > 1


def test_split_without_a_default_names_the_record_either_way() -> None:
    def source():
        return pa.Table.from_pylist(rows())

    messages = []
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src | split | done", resolver=_resolve({"src": source,
                                                                       "done": done}),
                              options={"split": {"by": "region"}}, batch_format=fmt)
        with pytest.raises(Exception) as caught:
            flow.run()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "record 10 of input 'src' has no value for 'region'" in messages[0]


def done() -> None:
    """A destination that reads nothing (split's parts are in the result)."""


def _resolve(table: dict[str, Any]) -> Any:
    from adf_core.engine.expression import default_resolver

    def resolve(name: str, kind: str) -> Any:
        return table.get(name) or default_resolver(name, kind)

    return resolve


@pytest.mark.parametrize("fields", [None, "price,name", "amount,day,at"])
def test_compare_is_the_same_either_way(tmp_path: Path, fields: str | None) -> None:
    data = rows()
    changed = [dict(r) for r in data[5:]]
    for r in changed[::4]:
        r["price"] = None if r["price"] else 1.5
    for r in changed[1::5]:
        r["name"] = "changed ü"
    for r in changed[2::6]:
        r["amount"] = None
    paths = {}
    for name, records in (("old", data[:-3]), ("new", changed)):
        import pyarrow.parquet as pq

        paths[name] = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(records), paths[name])
    options = [f"new.path={paths['new']}", f"old.path={paths['old']}", "compare.key=id"]
    if fields:
        options.append(f"compare.fields={fields}")
    arrow, records = run_both(tmp_path, "new=file, old=file | compare | dst=file", options,
                              "diff.jsonl")
    assert arrow == records
    kinds = {r["_change"] for r in jsonl(tmp_path / "arrow" / "diff.jsonl")}
    assert kinds == {"added", "removed", "changed"}


def test_compare_with_repeated_keys_is_the_same_either_way(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    data = rows(10)
    pq.write_table(pa.Table.from_pylist(data + data[:2]), tmp_path / "a.parquet")
    pq.write_table(pa.Table.from_pylist(data[3:]), tmp_path / "b.parquet")
    arrow, records = run_both(
        tmp_path, "a=file, b=file | compare | dst=file",
        [f"a.path={tmp_path / 'a.parquet'}", f"b.path={tmp_path / 'b.parquet'}",
         "compare.key=id"], "diff.jsonl")
    assert arrow == records


@pytest.mark.parametrize("on", [None, "id"])
def test_merge_is_the_same_either_way(tmp_path: Path, inputs: dict[str, Path],
                                      on: str | None) -> None:
    options = [f"a.path={inputs['parquet']}", f"b.path={inputs['plain']}"]
    if on:
        options.append(f"merge.on={on}")
    arrow, records = run_both(tmp_path, "a=file, b=file | merge | dst=file", options,
                              "out.jsonl")
    assert arrow == records


def test_sql_is_the_same_either_way(tmp_path: Path, inputs: dict[str, Path]) -> None:
    query = ("select region, count(*) as n, sum(price) as price, max(name) as name, "
             'min(day) as day, max("at") as "at" from orders group by region order by region')
    arrow, records = run_both(tmp_path, "orders=file | sql | dst=file",
                              [f"orders.path={inputs['parquet']}", f"sql.query={query}"],
                              "out.jsonl")
    assert arrow == records
    assert [r["region"] for r in jsonl(tmp_path / "arrow" / "out.jsonl")] == [
        "APAC", "EU", "US", None]


def test_arrow_batches_flow_unless_records_are_asked_for(tmp_path: Path,
                                                         inputs: dict[str, Path]) -> None:
    def kinds(upstream):
        return {"kinds": sorted({type(b).__name__ for v in upstream.values() for b in v})}

    seen = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | filter | kinds", resolver=_resolve({"kinds": kinds}),
                              options={"src": {"path": str(inputs["plain"])},
                                       "filter": {"where": "qty > 0"}},
                              batch_format=fmt)
        seen[fmt] = flow.run().outputs["kinds"]["kinds"]
    assert seen == {"arrow": ["RecordBatch"], "records": ["list"]}


def test_batch_format_from_a_pipeline_file(tmp_path: Path, inputs: dict[str, Path]) -> None:
    pipeline = tmp_path / "flow.toml"
    seen = tmp_path / "kinds.json"
    pipeline.write_text(
        'pipeline = "src=file | dst=arrow_helpers:record_kinds"\n'
        '[settings]\nbatch_format = "records"\n'
        f'[components.src]\npath = "{inputs["plain"]}"\n'
        f'[components.dst]\npath = "{seen}"\n')
    result = adf(["run", "-f", str(pipeline), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(seen.read_text()) == ["list"]
    pipeline.write_text(pipeline.read_text().replace('"records"', '"arrow"'))
    assert adf(["run", "-f", str(pipeline), "-q"]).exit_code == 0
    assert json.loads(seen.read_text()) == ["RecordBatch"]
    bad = tmp_path / "bad.toml"
    bad.write_text(pipeline.read_text().replace('"arrow"', '"pandas"'))
    result = adf(["run", "-f", str(bad), "-q"])
    assert result.exit_code != 0
    assert "batch_format must be 'arrow' or 'records'" in result.output


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_parse_errors_name_the_same_place_either_way(tmp_path: Path, fmt: str) -> None:
    paths = write_inputs(tmp_path, 3000)
    paths["csv"] = paths["plain"]  # no quotes: pyarrow parses it, then meets the bad row
    lines = paths[fmt].read_text().splitlines(keepends=True)
    lines[2500] = "1,2\n" if fmt == "csv" else '{"id": 1, oops}\n'
    paths[fmt].write_text("".join(lines))
    messages = []
    for batch_format in ("arrow", "records"):
        result = adf(["run", "src=file | dst=file", "-o", f"src.path={paths[fmt]}",
                      "-o", f"dst.path={tmp_path / batch_format}.jsonl"],
                     env={"ADF_BATCH_FORMAT": batch_format})
        assert result.exit_code != 0
        messages.append([line for line in result.output.splitlines()
                         if line.startswith("error:")])
        assert not (tmp_path / f"{batch_format}.jsonl").exists()
    assert messages[0] == messages[1]
    record = 2500 if fmt == "csv" else 2501  # csv: the header is line 1
    assert f"record {record} (line {2501})" in messages[0][0]


def test_non_finite_floats_follow_the_dict_writer(tmp_path: Path) -> None:
    def source():
        return pa.table({"x": [1.0, float("nan"), float("inf")], "n": [1, 2, 3]})

    outputs = []
    for fmt in ("arrow", "records"):
        target = tmp_path / f"{fmt}.jsonl"
        flow = DataFlow.parse("src | dst=file", resolver=_resolve({"src": source}),
                              options={"dst": {"path": str(target)}}, batch_format=fmt)
        try:
            flow.run()
            outputs.append(target.read_bytes())
        except Exception as exc:  # the dict writer's rule refuses them, naming the record
            outputs.append(str(exc).replace(str(target), "TARGET"))
    assert outputs[0] == outputs[1]
    assert "record 2 (input 'src') cannot be written as JSON" in str(outputs[0])


def test_a_filter_every_row_matches_passes_the_batch_itself() -> None:
    """No copy when nothing is dropped; a batch with one row dropped is filtered."""
    from adf_core import step
    from adf_plugins.transforms import filter_records

    batch = pa.RecordBatch.from_pydict({"n": [1, 2, 3], "s": ["a", "b", None]})
    seen: list[Any] = []

    def source() -> Any:
        yield batch

    def sink(filter: Any) -> None:
        seen.extend(filter)

    for where, expected in (("n >= 1", [1, 2, 3]), ("n >= 2", [2, 3])):
        seen.clear()
        DataFlow((source, step(filter_records, name="filter", options={"where": where}),
                  sink)).run()
        assert [n for b in seen for n in b.column("n").to_pylist()] == expected
        assert (seen[0] is batch) == (expected == [1, 2, 3])
