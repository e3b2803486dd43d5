"""``--executor processes``: built-ins that cannot leave the process stay on threads (and the
plan says so); other components that cannot are refused before the run, naming them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trust_support import HERE, events, run_adf

ORDERS = "id,country\n1,GB\n2,FR\n3,GB\n"


def test_built_ins_run_under_the_processes_executor(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS)
    done = run_adf("file | split | GB=file", "-q", "-o", "file.path=orders.csv",
                   "-o", "split.by=country", "-o", "GB.input=GB", "-o", "GB.path=gb.jsonl",
                   "--executor", "processes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["id"] for x in (tmp_path / "gb.jsonl").read_text().splitlines()] \
        == [1, 3]


def test_the_plan_shows_which_built_ins_stay_on_threads(tmp_path: Path) -> None:
    args = ["file | split | GB=file, notify", "-o", "file.path=orders.csv", "-o",
            "split.by=country", "-o", "GB.path=gb.jsonl", "--executor", "processes",
            "--dry-run"]
    (tmp_path / "orders.csv").write_text(ORDERS)
    text = run_adf(*args, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "threads (stays in this process), retries: 0" in text.stdout
    assert "note: file runs on threads: stays in this process: it streams" in text.stdout
    plan = {c["alias"]: c for c in json.loads(run_adf(*args, "--json", cwd=tmp_path).stdout)[
        "components"]}
    assert {alias: plan[alias]["executor"] for alias in plan} == {
        "file": "threads", "split": "threads", "GB": "threads", "notify": "loop"}
    assert plan["GB"]["executor_note"] == "stays in this process: it is declared in_process"
    assert plan["notify"]["after_run"] is True and plan["notify"]["executor_note"] is None


def test_a_user_component_that_reads_a_stream_is_refused_before_the_run(tmp_path: Path) -> None:
    done = run_adf("src=trust_jobs:slow_rows | check=trust_jobs:boom", "--executor",
                   "processes", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert ("component 'src' (stage 1) cannot run on executor 'processes': it streams"
            in done.stderr)
    flow = tmp_path / "flow.toml"
    flow.write_text('pipeline = "src=trust_jobs:slow_rows | check=trust_jobs:boom"\n'
                    "[settings]\nexecutor = \"processes\"\n"
                    "[settings.src]\nexecutor = \"threads\"\n")
    refused = run_adf("-f", str(flow), "--dry-run", cwd=tmp_path)
    assert refused.returncode == 2
    assert ("component 'check' (stage 2) cannot run on executor 'processes': it reads the "
            "stream of 'src'") in refused.stderr
    assert "executor = \"threads\"" in refused.stderr


def test_a_user_component_that_does_not_pickle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "local_jobs.py").write_text(
        "def make():\n"
        "    def inner(rows):\n"
        "        return None\n"
        "    return inner\n"
        "inner = make()\n")
    done = run_adf("trust_jobs:rows | local_jobs:inner", "--executor", "processes",
                   "--dry-run", cwd=tmp_path, PYTHONPATH=f"{tmp_path}{os.pathsep}{HERE}")
    assert done.returncode == 2
    assert "component 'inner' (stage 2) cannot run on executor 'processes'" in done.stderr
    assert "must pickle" in done.stderr


def test_the_plan_says_where_each_component_then_runs(webhook: Any, tmp_path: Path) -> None:
    """The executor the plan shows is the one the run uses (notify: the loop, not threads)."""
    (tmp_path / "orders.csv").write_text(ORDERS)
    args = ["file | out=file, notify", "-o", "file.path=orders.csv", "-o", "out.path=o.jsonl",
            "-o", f"notify.url={webhook.url}"]
    plan = json.loads(run_adf(*args, "--dry-run", "--json", cwd=tmp_path).stdout)
    planned = {c["alias"]: c["executor"] for c in plan["components"]}
    assert planned == {"file": "threads", "out": "threads", "notify": "loop"}
    text = run_adf(*args, "--dry-run", cwd=tmp_path).stdout
    assert [[*line.split()[3:5], line.split()[7].rstrip(",")] for line in text.splitlines()
            if line.startswith("after the run")] == [["notify", "notify", "loop"]]
    done = run_adf(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ran = {e["component"]: e["executor"] for e in events(done.stderr)
           if e["event"] == "component.started"}
    assert ran == planned
    assert len(webhook.payloads) == 1
