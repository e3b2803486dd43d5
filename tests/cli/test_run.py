"""``adf run``: expressions, tier flags, options, pipeline files, errors and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_tier_flags_run_a_three_tier_flow(invoke: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = invoke(["run", "--source", "numbers,connect", "--transform", "plus_one",
                     "--dest", "jsonl", "-o", f"jsonl.path={out}", "-o", "numbers.count=2",
                     "-o", "connect.url=sqlite:///x.db"])
    assert result.exit_code == 0, result.output
    assert lines(out) == [{"n": 1}, {"n": 2}, {"url": "sqlite:///x.db", "n": 1}]
    names = [e["event"] for e in events(result.stderr)]
    assert names[0] == "flow.started" and names[-1] == "flow.finished"
    assert names.count("component.finished") == 4
    assert "run " in result.stderr and "ALIAS" in result.stderr  # the summary


def test_expression_with_aliases_and_converted_options(invoke: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"n": -1}\n')
    result = invoke(["run", "a=numbers, b=numbers_stream | plus_one | jsonl", "-o", "a.count=1",
                     "-o", "a.start=10", "-o", "b.count=3", "-o", "b.batch=2",
                     "-o", f"jsonl.path={out}", "-o", "jsonl.append=yes"])
    assert result.exit_code == 0, result.output
    assert [r["n"] for r in lines(out)] == [-1, 11, 1, 2, 3]


def test_module_attr_references_and_params(invoke: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = invoke(["run", "adf_sample_basic:numbers | jsonl", "-p", "count:=3",
                     "-o", f"jsonl.path={out}"])
    assert result.exit_code == 0, result.output
    assert [r["n"] for r in lines(out)] == [0, 1, 2]
    bad = invoke(["run", "adf_sample_basic:numbers | jsonl", "-p", "count:=[1,"])
    assert bad.exit_code == 2 and "must be JSON" in bad.output


def test_options_from_the_environment_and_precedence(invoke: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    env = {"ADF_NUMBERS_COUNT": "4", "ADF_NUMBERS_START": "5", "ADF_JSONL_PATH": str(out)}
    result = invoke(["run", "numbers | jsonl", "-o", "numbers.start=100"], env=env)
    assert result.exit_code == 0, result.output
    assert [r["n"] for r in lines(out)] == [100, 101, 102, 103]
    typo = invoke(["run", "numbers | jsonl"], env={**env, "ADF_JSONL_PTH": "x"})
    assert typo.exit_code == 2 and "(set by the environment: ADF_JSONL_PTH)" in typo.output
    bad = invoke(["run", "numbers | jsonl"], env={**env, "ADF_NUMBERS_COUNT": "lots"})
    assert bad.exit_code == 2 and "(set by the environment: ADF_NUMBERS_COUNT)" in bad.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["numbers | plus_on | jsonl"], "did you mean 'plus_one'?"),
        (["numbers | | jsonl"], "^"),
        (["numbers | jsonl", "-o", "jsonl.pth=x"], "did you mean 'path'?"),
        (["numbers | jsonl", "-o", "numbers.count=many", "-o", "jsonl.path=x"], "count"),
        (["numbers | jsonl", "-o", "count=3"], "ALIAS.KEY=VALUE"),
        (["numbers | jsonl", "-p", "count"], "KEY=VALUE"),
        (["numbers | jsonl", "--source", "numbers"], "exclusive"),
        ([], "no flow"),
        (["plus_one | jsonl"], "'plus_one' is a transform, not a source"),
        (["numbers | jsonl", "-o", "numbrs.count=1"], "did you mean 'numbers'?"),
        (["numbers | jsonl", "--executor", "thredas"], "did you mean 'threads'?"),
        (["numbers | jsonl", "--timeout", "0"], "--timeout"),
    ],
)
def test_usage_errors_exit_2(invoke: Any, args: list[str], message: str) -> None:
    result = invoke(["run", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_syntax_error_points_at_the_column(invoke: Any) -> None:
    result = invoke(["run", "numbers | (plus_one | jsonl"])
    assert result.exit_code == 2
    text = result.output
    assert "numbers | (plus_one | jsonl\n" in text and "^" in text


def test_a_failing_component_exits_1_with_a_short_error(invoke: Any) -> None:
    result = invoke(["run", "numbers | fail | jsonl", "-o", "fail.message=bad row",
                     "-o", "jsonl.path=unused"])
    assert result.exit_code == 1
    assert "error: component 'fail' (stage 2) failed: RuntimeError: bad row" in result.stderr
    assert "Traceback" not in result.stderr
    verbose = invoke(["run", "numbers | fail | jsonl", "-o", "jsonl.path=unused", "-v"])
    assert verbose.exit_code == 1 and "Traceback (most recent call last)" in verbose.stderr


def test_json_output_for_success_and_failure(invoke: Any, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    ok = invoke(["run", "numbers | jsonl", "-o", f"jsonl.path={out}", "--json", "-q"])
    data = json.loads(ok.stdout)
    assert data["status"] == "succeeded" and data["flow"] == "numbers | jsonl"
    assert re.fullmatch(r"[0-9a-f]{12}", data["run_id"])
    assert [(c["alias"], c["status"], c["records_in"], c["records_out"])
            for c in data["components"]] == [("numbers", "succeeded", 0, 3),
                                              ("jsonl", "succeeded", 3, 0)]
    assert "written" in data["context_keys"]
    assert data["after_run_errors"] == []
    assert ok.stderr == ""  # -q: no info events, no summary
    bad = invoke(["run", "numbers | fail | jsonl", "-o", "jsonl.path=x", "--json", "-q"])
    failed = json.loads(bad.stdout)
    assert failed["status"] == "failed" and failed["errors"][0]["component"] == "fail"
    assert failed["errors"][0]["stage"] == 2
    assert re.fullmatch(r"[0-9a-f]{12}", failed["run_id"]), "a failed run names its run id"
    assert failed["error"].startswith("component 'fail' (stage 2) failed")
    assert [(c["alias"], c["status"]) for c in failed["components"]] == [
        ("numbers", "succeeded"), ("fail", "failed"), ("jsonl", "skipped")]


def test_retries_and_timeout_flags(invoke: Any) -> None:
    result = invoke(["run", "numbers | fail | jsonl", "-o", "jsonl.path=x", "--retries", "1"])
    assert result.exit_code == 1 and "after 2 attempts" in result.stderr
    assert [e["event"] for e in events(result.stderr)].count("component.retrying") == 1
    slow = invoke(["run", "slow | jsonl", "-o", "slow.seconds=5", "-o", "jsonl.path=x",
                   "--timeout", "0.05"])
    assert slow.exit_code == 1 and "timed out" in slow.stderr


def test_dry_run_validates_prints_the_plan_and_runs_nothing(invoke: Any, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    result = invoke(["run", "src=numbers | plus_one | jsonl", "-o", f"jsonl.path={out}",
                     "-o", "src.count=2", "--retries", "2", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert not out.exists()
    assert "flow: src=numbers | plus_one | jsonl" in result.output
    assert "threads, retries: 2, timeout: -" in result.output
    assert "dry run: nothing was run" in result.output
    data = json.loads(invoke(["run", "numbers | jsonl", "-o", "jsonl.path=x", "--dry-run",
                              "--json"]).output)
    assert [c["position"] for c in data["components"]] == ["stage 1", "stage 2"]
    bad = invoke(["run", "numbers | jsonl", "-o", "jsonl.path=x", "-o", "numbers.cnt=1",
                  "--dry-run"])
    assert bad.exit_code == 2  # dry runs validate options too


def test_pipeline_file_with_interpolation_params_and_settings(invoke: Any,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    flow = tmp_path / "flow.toml"
    flow.write_text(
        'pipeline = "src=numbers | plus_one | sink=jsonl"\n'
        "[params]\n"
        "start = 7\n"
        "[components.src]\n"
        "count = 2\n"
        "[components.sink]\n"
        'path = "${OUT_DIR}/out.jsonl"\n'
        'token = "${SINK_TOKEN:-default-token}"\n'
        "[settings]\n"
        "retries = 1\n"
        "[settings.sink]\n"
        "timeout = 30\n"
    )
    result = invoke(["run", "-f", str(flow)], env={"OUT_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert [r["n"] for r in lines(out)] == [8, 9]
    plan = json.loads(invoke(["run", "-f", str(flow), "--dry-run", "--json"],
                             env={"OUT_DIR": str(tmp_path)}).output)
    sink = plan["components"][-1]
    assert sink["retries"] == 1 and sink["timeout"] == 30 and sink["options"]["token"] == "***"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('pipeline = "numbers | jsonl"\n[components.jsonl]\npath = "${NOPE_NOT_SET}"\n',
         "NOPE_NOT_SET is not set"),
        ('pipline = "numbers"\n', "did you mean 'pipeline'?"),
        ('pipeline = "numbers | jsonl"\n[settings.jsonl]\nretry = 2\n', "did you mean 'retries'?"),
        ("pipeline = [\n", "invalid TOML"),
    ],
)
def test_pipeline_file_mistakes_are_usage_errors(invoke: Any, tmp_path: Path, text: str,
                                                 message: str) -> None:
    flow = tmp_path / "flow.toml"
    flow.write_text(text)
    result = invoke(["run", "-f", str(flow)])
    assert result.exit_code == 2 and message in result.output


def test_quiet_and_console_log_formats(invoke: Any, tmp_path: Path) -> None:
    args = ["run", "numbers | jsonl", "-o", f"jsonl.path={tmp_path / 'o'}"]
    assert "flow.started" not in invoke([*args, "-q"]).stderr
    console = invoke([*args, "--log-format", "console"]).stderr
    assert "component.finished" in console and not console.lstrip().startswith("{")
