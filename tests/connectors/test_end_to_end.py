"""The connectors through the real `adf` command: subprocesses and click's CliRunner."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from adf_core.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _unconfigure_structlog():
    """The CLI configures structlog for the process; do not leak that into other tests."""
    was_configured = structlog.is_configured()
    yield
    if not was_configured:
        structlog.reset_defaults()


def adf(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "adf_core.cli", *args],
        cwd=cwd,
        env={**os.environ, "ADF_LOG_FORMAT": "json", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_db(path: Path, rows: int = 50) -> str:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT, amount REAL)")
    con.executemany(
        "INSERT INTO orders VALUES (?, ?, ?)",
        [(i, ("EU", "US")[i % 2], i * 10.0) for i in range(1, rows + 1)],
    )
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_quickstart_example_runs_with_no_server(tmp_path):
    proc = adf("run", "-f", "examples/orders.toml", env={"ADF_OUT": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    records = read_jsonl(tmp_path / "orders.jsonl")
    assert len(records) == 8
    assert {r["country"] for r in records} == {"GB", "FR", "DE", "US"}
    assert "notify.summary" in proc.stderr
    assert "succeeded: 8 records" in proc.stderr


def test_tier_flags_db_merge_file_and_notify(tmp_path):
    url = make_db(tmp_path / "orders.db")
    out = tmp_path / "out" / "orders.jsonl"
    proc = adf(
        "run",
        "--source",
        "db",
        "--transform",
        "merge",
        "--dest",
        "file,notify",
        "-o",
        f"db.url={url}",
        "-o",
        "db.table=orders",
        "-o",
        "db.batch_size=7",
        "-o",
        f"file.path={out}",
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in read_jsonl(out)] == list(range(1, 51))
    summary_lines = [
        json.loads(x)
        for x in proc.stderr.splitlines()
        if x.startswith("{") and "notify.summary" in x
    ]
    assert summary_lines and summary_lines[0]["counts"] == {"merge": 50}


def test_split_to_two_files_and_a_filter_with_the_cli_runner(tmp_path):
    url = make_db(tmp_path / "orders.db")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "db | filter | split | eu=file, us=file",
            "-o",
            f"db.url={url}",
            "-o",
            "db.query=SELECT * FROM orders",
            "-o",
            "filter.where=amount >= 100 and region != 'XX'",
            "-o",
            "split.by=region",
            "-o",
            f"eu.path={tmp_path / 'eu.csv'}",
            "-o",
            "eu.input=EU",
            "-o",
            f"us.path={tmp_path / 'us.jsonl'}",
            "-o",
            "us.input=US",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    eu = (tmp_path / "eu.csv").read_text().splitlines()
    assert eu[0] == "id,region,amount"
    assert len(eu) - 1 == 21  # ids 10..50, even
    assert {r["region"] for r in read_jsonl(tmp_path / "us.jsonl")} == {"US"}


def test_options_come_from_the_environment(tmp_path):
    url = make_db(tmp_path / "orders.db", rows=3)
    out = tmp_path / "env.json"
    proc = adf(
        "run",
        "--source",
        "db",
        "--dest",
        "file",
        env={"ADF_DB_URL": url, "ADF_DB_TABLE": "orders", "ADF_FILE_PATH": str(out)},
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in json.loads(out.read_text())] == [1, 2, 3]


def test_a_bad_record_fails_the_run_naming_it_and_leaves_nothing(tmp_path):
    bad = tmp_path / "orders.csv"
    bad.write_text("id,amount\n1,10\n2,20,oops\n")
    url = f"sqlite:///{tmp_path / 'target.db'}"
    out = tmp_path / "copy.jsonl"
    proc = adf(
        "run",
        "--source",
        "file",
        "--dest",
        "out=file,db",
        "-o",
        f"file.path={bad}",
        "-o",
        f"out.path={out}",
        "-o",
        f"db.url={url}",
        "-o",
        "db.table=orders",
    )
    assert proc.returncode == 1
    assert "orders.csv record 2 (line 3): 3 fields, the header has 2" in proc.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    con = sqlite3.connect(tmp_path / "target.db")
    tables = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    con.close()
    assert tables == []


def test_a_failing_sibling_destination_leaves_no_file_through_the_cli(tmp_path):
    """The db destination meets a record that does not fit; the file beside it is not written."""
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i}) for i in range(1, 3001)] + [json.dumps({"id": 0, "x": 1})]
    src.write_text("\n".join(lines) + "\n")
    db = tmp_path / "t.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER)")
    con.commit()
    con.close()
    out = tmp_path / "out.jsonl"
    proc = adf(
        "run",
        "--source",
        "file",
        "--dest",
        "out=file,db",
        "-o",
        f"file.path={src}",
        "-o",
        "file.batch_size=100",
        "-o",
        f"out.path={out}",
        "-o",
        f"db.url=sqlite:///{db}",
        "-o",
        "db.table=t",
        "-o",
        "db.schema=freeze",
    )
    assert proc.returncode == 1
    assert "record 3001 (input 'file') does not fit table 't'" in proc.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_filter_condition_that_is_code_is_rejected(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1}\n')
    proc = adf(
        "run",
        "file | filter | stdout",
        "-o",
        f"file.path={src}",
        "-o",
        "filter.where=__import__('os').system('echo pwned')",
    )
    assert proc.returncode == 2  # found before anything runs (the filter declares the check)
    assert "filter.where: " in proc.stderr and "not allowed" in proc.stderr
    assert "pwned" not in proc.stdout


def test_describe_shows_the_documented_options():
    result = CliRunner().invoke(cli, ["describe", "filter"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Keep the records that match a condition" in result.output
    assert "the condition each kept record satisfies" in result.output


def test_an_unknown_option_is_a_usage_error_with_a_suggestion(tmp_path):
    proc = adf("run", "--source", "file", "--dest", "stdout", "-o", "file.pth=x.csv")
    assert proc.returncode == 2
    assert "path" in proc.stderr
