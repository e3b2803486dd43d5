"""Edges of `adf run`: malformed assignments never echo their values; a bad trace path is a
usage error before anything runs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from adf_core.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_a_malformed_param_does_not_echo_its_value() -> None:
    code, output = run("a=file | stdout", "-o", "a.path=x.csv", "-p", "token:=hunter2x")
    assert code == 2
    assert "hunter2x" not in output
    assert "token:=..." in output


def test_a_malformed_option_does_not_echo_its_value() -> None:
    code, output = run("a=file | stdout", "-o", "password=hunter2")
    assert code == 2
    assert "hunter2" not in output


def test_a_trace_file_in_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    code, output = run("a=file | out=file", "-o", "a.path=examples/data/orders_eu.csv",
                       "-o", f"out.path={target}", "--trace-file",
                       str(tmp_path / "missing" / "t.json"))
    assert code == 2
    assert "--trace-file" in output
    assert not target.exists(), "nothing ran"


def test_an_environment_option_goes_to_the_longest_matching_alias() -> None:
    from adf_core.cli.spec import env_options

    origins: dict[tuple[str, str], str] = {}
    options = env_options(["target", "target_db"],
                          {"ADF_TARGET_DB_URL": "sqlite://", "ADF_TARGET_PATH": "a.csv"}, origins)
    assert options == {"target_db": {"url": "sqlite://"}, "target": {"path": "a.csv"}}
    assert origins[("target_db", "url")] == "ADF_TARGET_DB_URL"
