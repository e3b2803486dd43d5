"""The bad-record policy through `adf run`, as users run it: real subprocesses (and click's
CliRunner), components that reject records (``tests/plugins/adf_sample_rejects.py``), real
files, SQLite and PostgreSQL tables."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "tests" / "plugins"
SRC = "src=adf_sample_rejects:read_lines"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def adf(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "adf_core.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": pythonpath, **(env or {})})


def write_lines(path: Path, good: int, bad_at: tuple[int, ...]) -> list[dict[str, int]]:
    """``good`` records as JSON lines, with a broken line after each record number in
    ``bad_at``; returns the good records."""
    lines, records = [], []
    for i in range(1, good + 1):
        records.append({"id": i, "amount": i * 10})
        lines.append(json.dumps(records[-1]))
        if i in bad_at:
            lines.append(f'{{"id": {i}, "amount": oops}}')
    path.write_text("\n".join(lines) + "\n")
    return records


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def summary(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)


def test_dead_letters_go_to_the_file_and_counts_to_json(tmp_path):
    good = write_lines(tmp_path / "in.jsonl", 50, bad_at=(3, 20, 49))
    out, dead = tmp_path / "out.jsonl", tmp_path / "bad" / "dead.jsonl"
    proc = adf("run", f"{SRC} | out=file", "-o", f"src.path={tmp_path / 'in.jsonl'}",
               "-o", f"out.path={out}", "--dead-letter", str(dead), "--json")
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(out) == good
    letters = read_jsonl(dead)
    assert [d["position"] for d in letters] == [
        {"file": str(tmp_path / "in.jsonl"), "line": line} for line in (4, 22, 52)]
    assert letters[0] == {
        "component": "src", "input": str(tmp_path / "in.jsonl"),
        "position": {"file": str(tmp_path / "in.jsonl"), "line": 4},
        "error": "in.jsonl line 4: Expecting value: line 1 column 21 (char 20)",
        "record": '{"id": 3, "amount": oops}'}
    result = summary(proc)
    counts = {c["alias"]: c["records_rejected"] for c in result["components"]}
    assert counts == {"src": 3, "out": 0}
    assert result["records_rejected"] == 3 and result["dead_letter"] == str(dead)
    assert [p.name for p in dead.parent.iterdir()] == ["dead.jsonl"]


def test_the_summary_table_and_the_events_show_the_rejected_records(tmp_path):
    write_lines(tmp_path / "in.jsonl", 10, bad_at=(5,))
    proc = adf("run", f"{SRC} | out=file", "-o", f"src.path={tmp_path / 'in.jsonl'}",
               "-o", f"out.path={tmp_path / 'out.jsonl'}", "--on-error", "skip",
               "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    finished = {e["component"]: e["records_rejected"] for e in events
                if e["event"] == "component.finished"}
    assert finished == {"src": 1, "out": 0}
    table = proc.stderr[proc.stderr.index("ALIAS"):].splitlines()
    assert table[0].split() == ["ALIAS", "KIND", "STAGE", "STATUS", "SECONDS", "RECORDS",
                                "IN", "RECORDS", "OUT", "REJECTED"]
    src, out = table[1].split(), table[2].split()
    assert src[:4] == ["src", "source", "1", "succeeded"]
    assert src[5:] == ["0", "10", "1"]  # records in, records out, rejected
    assert out[5:] == ["10", "10", "0"]
    assert "1 bad record rejected" in proc.stderr


def test_fail_is_the_default_and_names_the_line(tmp_path):
    write_lines(tmp_path / "in.jsonl", 10, bad_at=(5,))
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    proc = adf("run", f"{SRC} | out=file", "-o", f"src.path={tmp_path / 'in.jsonl'}",
               "-o", f"out.path={out}")
    assert proc.returncode == 1
    assert "in.jsonl line 6: Expecting value" in proc.stderr
    assert out.read_text() == "previous\n"


def test_a_destination_dead_letters_the_records_it_cannot_write(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1}\n{"name": "no id"}\n{"id": 3}\n{"password": "hunter2"}\n')
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    proc = adf("run", f"{SRC} | out=adf_sample_rejects:write_valid", "-o", f"src.path={source}",
               "-o", f"out.path={out}", "--dead-letter", str(dead), "--json")
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(out) == [{"id": 1}, {"id": 3}]
    assert read_jsonl(dead) == [
        {"component": "out", "input": "src", "position": {"record": 2}, "error": "no 'id' field",
         "record": {"name": "no id"}},
        {"component": "out", "input": "src", "position": {"record": 4}, "error": "no 'id' field",
         "record": {"password": "***"}}]


def test_settings_in_a_pipeline_file(tmp_path):
    write_lines(tmp_path / "in.jsonl", 20, bad_at=(2, 4))
    flow = tmp_path / "flow.toml"
    flow.write_text(f'''
pipeline = "{SRC} | out=file"
[components.src]
path = "in.jsonl"
[components.out]
path = "out.jsonl"
[settings]
dead_letter = "dead.jsonl"
[settings.src]
max_errors = 0.1
''')
    proc = adf("run", "-f", str(flow), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(read_jsonl(tmp_path / "dead.jsonl")) == 2
    flow.write_text(flow.read_text().replace("max_errors = 0.1", "max_errors = 0.05"))
    proc = adf("run", "-f", str(flow), "--json", cwd=tmp_path)
    assert proc.returncode == 1
    assert ("'src' rejected 2 bad records, more than max_errors=0.05 (5% of the 22 records it "
            "read): the run fails and nothing is committed") in proc.stderr
    assert "the bad records rejected before the failure are in dead.jsonl" in proc.stderr
    failed = json.loads(proc.stdout)  # the same per-component fields as after a success
    assert failed["status"] == "failed" and failed["records_rejected"] == 2
    assert failed["dead_letter"] == "dead.jsonl"
    assert [(c["alias"], c["status"], c["records_out"], c["records_rejected"])
            for c in failed["components"]] == [("src", "failed", 20, 2),
                                               ("out", "cancelled", 0, 0)]
    # the component's own setting wins over the flow's (--max-errors)
    proc = adf("run", "-f", str(flow), "--max-errors", "5", cwd=tmp_path)
    assert proc.returncode == 1
    flow.write_text(flow.read_text().replace("max_errors = 0.05", 'on_error = "skip"'))
    proc = adf("run", "-f", str(flow), "--max-errors", "2", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc)["records_rejected"] == 2
    assert read_jsonl(tmp_path / "dead.jsonl") == []  # src skips; the file is the last run's


@pytest.fixture
def pg_table(postgresql_url: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"adf_rejects_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, amount BIGINT)"))
        conn.execute(sa.text(f"INSERT INTO {name} VALUES (0, 0)"))
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        engine.dispose()


def pg_rows(table: str) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("budget", ["2", "0.02"])
def test_past_max_errors_nothing_is_committed(tmp_path, pg_table, budget):
    # 3 bad lines among 100 records, spread so that the destinations are well under way
    write_lines(tmp_path / "in.jsonl", 100, bad_at=(10, 50, 90))
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": 0}\n')
    lite = tmp_path / "t.db"
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, amount INTEGER)")
    con.execute("INSERT INTO t VALUES (0, 0)")
    con.commit()
    con.close()
    args = ["run", f"{SRC} | out=file, lite=db, pg=db", "-o", f"src.path={tmp_path / 'in.jsonl'}",
            "-o", "src.batch_size=5", "-o", f"out.path={out}",
            "-o", f"lite.url=sqlite:///{lite}", "-o", "lite.table=t",
            "-o", f"pg.url={PG_URL}", "-o", f"pg.table={pg_table}",
            "--on-error", "skip"]
    proc = adf(*args, "--max-errors", budget)
    assert proc.returncode == 1, proc.stderr
    assert "'src' rejected 3 bad records, more than max_errors=" in proc.stderr
    assert out.read_text() == '{"id": 0}\n'
    assert sqlite3.connect(lite).execute("SELECT * FROM t").fetchall() == [(0, 0)]
    assert pg_rows(pg_table) == [(0, 0)]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    # within the budget, all three commit
    proc = adf(*args, "--max-errors", "3" if budget == "2" else "0.03")
    assert proc.returncode == 0, proc.stderr
    assert len(read_jsonl(out)) == 100
    assert len(pg_rows(pg_table)) == 101


def test_a_destination_past_its_fraction_commits_nothing(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(f'{{"id": {i}}}\n' if i % 4 else '{"x": 1}\n'
                              for i in range(1, 41)))
    out = tmp_path / "out.jsonl"
    proc = adf("run", f"{SRC} | out=adf_sample_rejects:write_valid", "-o", f"src.path={source}",
               "-o", f"out.path={out}", "--on-error", "skip", "--max-errors", "0.2")
    assert proc.returncode == 1
    assert "'out' rejected 10 bad records, more than max_errors=0.2 (20% of the 40" in proc.stderr
    assert not out.exists()


def test_a_split_group_nobody_reads_is_a_warning_and_an_error_under_strict(tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text("id,region\n1,EU\n2,US\n3,APAC\n4,EU\n")
    eu = tmp_path / "eu.jsonl"
    args = ["run", "file | split | eu=file", "-o", f"file.path={source}", "-o", "split.by=region",
            "-o", f"eu.path={eu}", "-o", "eu.input=EU"]
    proc = adf(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    [warning] = summary(proc)["warnings"]
    assert warning["component"] == "split" and warning["groups"] == ["US", "APAC"]
    assert warning["records"] == 2
    assert '"event": "data.warning"' in proc.stderr  # the event, as it happened
    assert len(read_jsonl(eu)) == 2
    proc = adf(*args)
    assert "warning: split: returned 2 groups that no later component reads, so 2 records go " \
           "nowhere: 'US' (1 records), 'APAC' (1 records)" in proc.stderr  # in the summary
    eu.unlink()
    proc = adf(*args, "--strict")
    assert proc.returncode == 1
    assert "no later component reads" in proc.stderr and "strict" in proc.stderr
    assert not eu.exists()


def test_a_component_warning_reaches_the_summary(tmp_path):
    write_lines(tmp_path / "in.jsonl", 3, bad_at=())
    proc = adf("run", f"{SRC} | w=adf_sample_rejects:pass_and_warn | out=file",
               "-o", f"src.path={tmp_path / 'in.jsonl'}", "-o", "w.field=amout",
               "-o", f"out.path={tmp_path / 'out.jsonl'}", "--json", "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    assert summary(proc)["warnings"] == [
        {"component": "w", "message": "no record has the field 'amout'", "field": "amout"}]
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert [e["component"] for e in events if e["event"] == "data.warning"] == ["w"]


def test_a_destination_handed_a_number_fails_naming_alias_and_type(tmp_path):
    write_lines(tmp_path / "in.jsonl", 3, bad_at=())
    out = tmp_path / "out.jsonl"
    proc = adf("run", f"{SRC} | count=adf_sample_rejects:count_them | out=file",
               "-o", f"src.path={tmp_path / 'in.jsonl'}", "-o", f"out.path={out}")
    assert proc.returncode == 1
    assert ("component 'out' (stage 3) failed: TypeError: the output of 'count' is int 3, not a "
            "dataset") in proc.stderr
    assert not out.exists()


def test_the_plan_shows_each_components_bad_record_policy(tmp_path):
    write_lines(tmp_path / "in.jsonl", 3, bad_at=())
    args = ("run", f"{SRC} | out=file", "-o", f"src.path={tmp_path / 'in.jsonl'}",
            "-o", f"out.path={tmp_path / 'out.jsonl'}", "--on-error", "skip",
            "--max-errors", "5", "--dry-run")
    proc = adf(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "retries: 0, timeout: -, on_error: skip, max_errors: 5" in proc.stdout
    plan = json.loads(adf(*args, "--json", cwd=tmp_path).stdout)
    assert [(c["alias"], c["on_error"], c["max_errors"]) for c in plan["components"]] == [
        ("src", "skip", 5), ("out", "skip", 5)]
