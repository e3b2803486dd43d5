"""`adf run --dry-run` validates everything knowable and reports every problem at once (exit 2).

Through the real command with the installed plugins (the built-ins, adf-plugin-s3), and with
sample components reached as ``module:attr``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TypedDict

import pytest
import structlog
from click.testing import CliRunner, Result

from adf_core import DataFlow, component, step, validate
from adf_core.checks import CheckFailed, Problem
from adf_core.cli import cli

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _unconfigure_structlog():
    was_configured = structlog.is_configured()
    yield
    if not was_configured:
        structlog.reset_defaults()


def adf(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def errors(result: Result) -> list[str]:
    return [line.removeprefix("error: ") for line in result.output.splitlines()
            if line.startswith("error: ")]


def test_the_design_card_flow_without_options_reports_every_missing_one():
    result = adf("run", "--dry-run", "--source", "db", "--transform", "merge",
                 "--dest", "s3,notify")
    assert result.exit_code == 2
    lines = errors(result)
    assert lines[0].startswith("db.url: required, and set nowhere")
    assert "set it with -o db.url=VALUE (this component) or -p url=VALUE" in lines[0]
    assert "[components.db] url in a pipeline file, or ADF_DB_URL" in lines[0]
    assert lines[1] == "db.query: give one of `query` or `table`"
    assert lines[2].startswith("s3.bucket: required, and set nowhere")
    assert lines[3] == "s3.key: give one of `key` or `prefix`"
    assert len(lines) == 4  # merge and notify need nothing
    assert "4 problems: nothing was run" in result.output


def test_literal_values_are_checked_with_a_did_you_mean(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id\n1\n")
    result = adf("run", "--dry-run", "file | merge | db, stdout, out=file",
                 "-o", f"file.path={src}", "-o", "db.url=sqlite:///x.db", "-o", "db.table=t",
                 "-o", "db.mode=upsrt", "-o", "stdout.format=xml", "-o", "out.path=o.xlsx",
                 "-o", "out.format=xlsx", "-o", "file.format=JSONL")
    assert result.exit_code == 2
    assert errors(result) == [
        "db.mode: 'upsrt' is not one of 'append', 'replace', 'upsert' (did you mean 'upsert'?)",
        "stdout.format: 'xml' is not one of 'table', 'jsonl', 'json'",
        "out.format: 'xlsx' is not one of 'csv', 'jsonl', 'ndjson', 'json', 'parquet'",
    ]  # JSONL differs only in case: accepted


def test_conditions_exclusive_options_paths_and_unknown_names_together(tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    result = adf("run", "--dry-run", "a=file, b=file, c=file, db | filter | s3, wrong",
                 "-o", f"a.path={tmp_path}/*.csv", "-o", f"b.path={tmp_path}/*.jsonl",
                 "-o", f"c.path={tmp_path}/missing.csv", "-o", "db.url=sqlite:///x.db",
                 "-o", "db.query=select 1", "-o", "db.table=t", "-o", "filter.where=amount >",
                 "-o", "s3.bucket=b", "-o", "s3.key=k", "-o", "s3.prefix=p")
    assert result.exit_code == 2
    lines = errors(result)
    assert lines[-1].startswith("wrong: unknown destination 'wrong'. Known destinations: ")
    assert lines[:-1] == [
        f"b.path: no file matches '{tmp_path}/*.jsonl' (from {Path.cwd()})",
        f"c.path: no such file: '{tmp_path}/missing.csv' (from {Path.cwd()})",
        "db.table: give only one of `query` or `table`, not query and table",
        "filter.where: invalid condition: invalid syntax at column 1 of 'amount >'",
        "s3.prefix: give only one of `key` or `prefix`, not key and prefix",
    ]  # a.path matches a file: fine


def test_a_missing_driver_names_what_to_install(monkeypatch):
    result = adf("run", "--dry-run", "db | stdout", "-o", "db.url=postgresql+pg8000://u@h/d",
                 "-o", "db.table=t")
    assert errors(result) == [
        "db.url: the driver for postgresql+pg8000:// cannot be imported (No module named "
        "'pg8000'): pip install pg8000, or use postgresql+psycopg:// with pip install "
        "'adf-core[postgres]'"]
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    result = adf("run", "--dry-run", "db | stdout", "-o", "db.url=postgresql+psycopg://u@h/d",
                 "-o", "db.table=t")
    assert result.exit_code == 2
    assert errors(result) == [
        "db.url: the driver for postgresql+psycopg:// cannot be imported (No module named "
        "'psycopg'): pip install 'adf-core[postgres]' (from a checkout: "
        "pip install '.[postgres]')"]


def test_what_an_earlier_stage_provides_is_not_missing(sample_modules, tmp_path):
    # `path` of the destination comes from -p; `numbers` from the source's declared return key
    result = adf("run", "--dry-run", "adf_sample_basic:numbers | out=adf_sample_basic:jsonl",
                 "-p", f"path={tmp_path / 'x.jsonl'}")
    assert result.exit_code == 0, result.output
    # without it, nothing provides `path`: numbers returns dict[str, ...] which may hold any key
    # (conservative), so only a component that cannot return arbitrary keys is trusted
    result = adf("run", "--dry-run",
                 "adf_sample_basic:numbers_stream | out=adf_sample_basic:jsonl")
    assert errors(result)[0].startswith("out.path: required, and set nowhere")


class Totals(TypedDict):
    total: int
    path: str


def make_totals() -> Totals:
    return {"total": 3, "path": "out.txt"}


def make_count() -> int:
    return 3


def needs_total(total: int, path: str) -> None:
    """Needs `total` and `path` from the context."""


def needs_make_count(make_count: int, extra: str) -> None:
    """Reads the value returned by make_count (under its alias)."""


def test_return_annotations_say_which_keys_a_component_provides():
    ok = DataFlow((make_totals, needs_total))
    assert validate(ok) == []
    problems = validate(DataFlow((make_count, needs_make_count)))
    assert [str(p) for p in problems] == [
        "needs_make_count.extra: required, and set nowhere: no option, param or earlier stage "
        "provides it"]
    assert validate(DataFlow((make_count, needs_make_count)), {"extra": "x"}) == []


def bucket_name_check(options: dict[str, Any]):
    if "/" in str(options.get("bucket", "")):
        yield Problem("a bucket name has no '/'", option="bucket")
    if options.get("bucket") == "boom":
        raise RuntimeError("the check itself broke")
    if options.get("level") == "loud":
        yield "level 'loud' is deprecated"


def fake_probe(options: dict[str, Any]) -> str:
    if options["bucket"] == "missing":
        raise CheckFailed("no bucket 'missing'", option="bucket")
    return f"bucket {options['bucket']!r} found"


@component(check=bucket_name_check, probe=fake_probe, returns=["saved"])
def save(bucket: str, level: str = "quiet") -> dict[str, int]:
    return {"saved": 1}


def test_a_plugins_declared_checks_and_probe():
    assert validate(DataFlow([step(save, options={"bucket": "ok"})]), connect=True) == []
    problems = validate(DataFlow([step(save, options={"bucket": "a/b", "level": "loud"})]))
    assert [str(p) for p in problems] == ["save.bucket: a bucket name has no '/'",
                                          "save: level 'loud' is deprecated"]
    [broken] = validate(DataFlow([step(save, options={"bucket": "boom"})]))
    assert "the check bucket_name_check failed: RuntimeError: the check itself broke" in str(broken)
    [failed] = validate(DataFlow([step(save, options={"bucket": "missing"})]), connect=True)
    assert (failed.component, failed.option, failed.message) == (
        "save", "bucket", "no bucket 'missing'")


def test_settings_and_policies_are_validated_too(tmp_path):
    flow = tmp_path / "flow.toml"
    flow.write_text('pipeline = "file | stdout"\n[components.file]\npath = "nope.csv"\n'
                    '[settings.file]\non_error = "skp"\nmax_errors = 2.5\n'
                    '[settings.stdout]\non_error = "dead_letter"\n')
    result = adf("run", "--dry-run", "-f", str(flow))
    assert result.exit_code == 2
    lines = errors(result)
    assert lines[0] == ("file.on_error: must be one of fail, skip, dead_letter, got 'skp' (did "
                        "you mean 'skip'?)")
    assert lines[1].startswith("file.max_errors: must be a count (an integer >= 0) or a fraction")
    assert lines[2].startswith("file.path: no such file: 'nope.csv'")
    assert lines[3].startswith("[settings.stdout] on_error is dead_letter, but there is no "
                               "dead-letter file: give --dead-letter PATH")


def test_a_dead_letter_path_that_cannot_be_written_is_a_problem(tmp_path):
    (tmp_path / "src.csv").write_text("id\n1\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = adf("run", "--dry-run", "file | stdout", "-o", f"file.path={tmp_path}/src.csv",
                 "--dead-letter", f"{blocker}/bad.jsonl")
    assert result.exit_code == 2
    assert errors(result) == [f"the dead-letter file '{blocker}/bad.jsonl' cannot be created: "
                              f"{str(blocker)!r} is not a directory"]


def test_problems_as_json_and_secrets_redacted():
    result = adf("run", "--dry-run", "--json", "db | stdout",
                 "-o", "db.url=postgresql+pg8000://app:hunter2@db/orders",
                 "-o", "db.table=t", "-o", "stdout.format=xml")
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    payload = json.loads(result.output[result.output.index("{"):])
    assert payload["status"] == "invalid"
    assert [(p["component"], p["option"]) for p in payload["problems"]] == [
        ("db", "url"), ("stdout", "format")]


def test_a_run_validates_first_and_runs_nothing_while_anything_is_wrong(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id\n1\n")
    out = tmp_path / "out.jsonl"
    result = adf("run", "file | out=file, stdout", "-o", f"file.path={src}",
                 "-o", f"out.path={out}", "-o", "stdout.format=xm")
    assert result.exit_code == 2
    assert errors(result) == ["stdout.format: 'xm' is not one of 'table', 'jsonl', 'json'"]
    assert not out.exists()


def test_a_valid_dry_run_prints_the_plan():
    result = adf("run", "--dry-run", "eu=file, us=file | merge | out=file",
                 "-o", "eu.path=examples/data/orders_eu.csv",
                 "-o", "us.path=examples/data/orders_us.jsonl", "-o", "out.path=o.jsonl")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was run" in result.output


def slow_probe(options: dict[str, Any]) -> None:
    import time

    time.sleep(5)  # a connection that does not answer in time: left behind on its thread


async def async_probe(options: dict[str, Any]) -> str:
    if options["host"] == "down":
        raise ConnectionRefusedError("connection refused")
    return f"{options['host']} answered"


@component(probe=slow_probe)
def hangs(host: str = "x") -> None:
    """Never answers."""


@component(probe=async_probe)
def pings(host: str) -> None:
    """Answers, or not."""


def test_a_probe_has_a_time_limit_and_may_be_a_coroutine():
    import time

    started = time.monotonic()
    [late] = validate(DataFlow([hangs]), connect=True, timeout=0.3)
    assert time.monotonic() - started < 4  # it did not wait for the probe
    assert str(late) == "hangs: no answer within 0.3 s"
    assert validate(DataFlow([step(pings, options={"host": "up"})]), connect=True) == []
    [down] = validate(DataFlow([step(pings, options={"host": "down"})]), connect=True)
    assert str(down) == "pings: ConnectionRefusedError: connection refused"
