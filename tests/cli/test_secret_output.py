"""Secrets never appear in logs, trace files, ``--dry-run`` output or error messages."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

PASSWORD = "Pa55w0rd-very-secret"
TOKEN = "tok_9f8e7d6c5b4a"
URL = f"postgresql://etl:{PASSWORD}@127.0.0.1:5432/orders"


def args(tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "connect | plus_one | jsonl", "-o", f"connect.url={URL}",
            "-o", f"jsonl.path={tmp_path / 'out.jsonl'}", "-o", f"jsonl.token={TOKEN}",
            "--trace-file", str(tmp_path / "trace.json"), *extra]


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text


def test_successful_run_logs_and_trace(invoke: Any, tmp_path: Path) -> None:
    result = invoke(args(tmp_path, "-v"))
    assert result.exit_code == 0, result.output
    assert URL in (tmp_path / "out.jsonl").read_text()  # the component gets the real value
    assert_clean(result.output, (tmp_path / "trace.json").read_text())


def test_failure_message_and_traceback(invoke: Any, tmp_path: Path) -> None:
    for verbosity in ([], ["-v"], ["--json"], ["--log-format", "console", "-v"]):
        result = invoke(args(tmp_path, "-o", "connect.fail=true", *verbosity))
        assert result.exit_code == 1
        assert "could not connect to postgresql://etl:***@127.0.0.1" in result.output
        assert_clean(result.output, (tmp_path / "trace.json").read_text())


def test_dry_run_and_usage_errors(invoke: Any, tmp_path: Path) -> None:
    result = invoke(args(tmp_path, "--dry-run"))
    assert result.exit_code == 0 and "url=postgresql://etl:***@127.0.0.1" in result.output
    assert "token=***" in result.output
    assert_clean(result.output, invoke(args(tmp_path, "--dry-run", "--json")).output)
    typo = invoke(args(tmp_path, "-o", f"jsonl.tokn={TOKEN}", "-o", f"connect.password={PASSWORD}"))
    assert typo.exit_code == 2
    assert_clean(typo.output)


def test_secrets_from_a_pipeline_file_and_the_environment(invoke: Any, tmp_path: Path) -> None:
    flow = tmp_path / "flow.toml"
    flow.write_text('pipeline = "connect | jsonl"\n[components.connect]\nurl = "${DB_URL}"\n'
                    f'fail = true\n[components.jsonl]\npath = "{tmp_path / "o.jsonl"}"\n')
    env = {"DB_URL": URL, "ADF_JSONL_TOKEN": TOKEN}
    for extra in (["--dry-run"], [], ["-v", "--trace-file", str(tmp_path / "t.json")]):
        result = invoke(["run", "-f", str(flow), *extra], env=env)
        assert_clean(result.output)
    assert_clean((tmp_path / "t.json").read_text())


def test_a_registered_plugin_declaring_a_secret(invoke: Any, pm: Any, tmp_path: Path) -> None:
    from adf_core import component, hookimpl

    secret = f"conn-{uuid.uuid4().hex}"

    @component(secrets=["conn"])
    def vault(conn: str, size: int = 1) -> dict[str, Any]:
        raise PermissionError(f"{conn} refused")

    class Plugin:
        @hookimpl
        def adf_sources(self) -> dict[str, Any]:
            return {"vault": vault}

    pm.register(Plugin(), name="vault-plugin")
    trace = tmp_path / "t.json"
    for extra in (["--dry-run"], ["--dry-run", "--json"], ["--json"], ["-v"],
                  ["--trace-file", str(trace)]):
        result = invoke(["run", "vault | count_stream", "-o", f"vault.conn={secret}", *extra])
        assert result.exit_code == (0 if "--dry-run" in extra else 1), result.output
        assert secret not in result.output
    # A bad value of another option (a usage error quoting options) keeps it hidden too.
    typo = invoke(["run", "vault | count_stream", "-o", f"vault.conn={secret}",
                   "-o", "vault.size=x"])
    assert typo.exit_code == 2 and secret not in typo.output
    assert secret not in trace.read_text()
