"""``adf run --name/--state``, ``name`` and ``[settings] state`` in a pipeline file, the `file`
source's ``incremental = true``, and ``adf state list | show | reset``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from adf_core.cli import cli

PIPELINE = """\
name = "landing"
pipeline = "src=file | out=file"
[components.src]
path = "in/*.jsonl"
incremental = true
[components.out]
path = "out/{run}.jsonl"
"""


def adf(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def write(path: Path, *rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"n": n}) + "\n" for n in rows))


def loaded(path: Path) -> list[int]:
    return [json.loads(line)["n"] for line in path.read_text().splitlines()]


def run_pipeline(workdir: Path, run: str, *extra: str) -> tuple[int, str]:
    (workdir / "flow.toml").write_text(PIPELINE.format(run=run))
    return adf("run", "-f", "flow.toml", "-q", *extra)


def test_the_file_source_loads_only_new_or_changed_files(workdir: Path) -> None:
    write(workdir / "in/a.jsonl", 1, 2)
    write(workdir / "in/b.jsonl", 3)
    assert run_pipeline(workdir, "1")[0] == 0
    assert loaded(workdir / "out/1.jsonl") == [1, 2, 3]
    write(workdir / "in/c.jsonl", 4)
    assert run_pipeline(workdir, "2")[0] == 0
    assert loaded(workdir / "out/2.jsonl") == [4]
    write(workdir / "in/a.jsonl", 1, 2, 5)  # changed: read again, whole
    assert run_pipeline(workdir, "3")[0] == 0
    assert loaded(workdir / "out/3.jsonl") == [1, 2, 5]
    assert run_pipeline(workdir, "4")[0] == 0
    assert loaded(workdir / "out/4.jsonl") == []
    (workdir / "in/b.jsonl").unlink()  # a file gone is forgotten: the state follows the glob
    assert run_pipeline(workdir, "5")[0] == 0
    code, out = adf("state", "show", "landing", "--json")
    assert code == 0
    files = json.loads(out)["aliases"]["src"]["state"]["files"]
    assert sorted(files) == ["in/a.jsonl", "in/c.jsonl"]


def test_a_failed_run_reads_the_same_files_again(workdir: Path) -> None:
    write(workdir / "in/a.jsonl", 1)
    (workdir / "out").mkdir()
    (workdir / "out/x.jsonl").mkdir()  # the destination cannot write its file
    code, _ = run_pipeline(workdir, "x")
    assert code == 1
    assert adf("state", "list", "--json")[1].count('"landing"') == 0
    assert run_pipeline(workdir, "1")[0] == 0
    assert loaded(workdir / "out/1.jsonl") == [1]


def test_state_list_show_and_reset(workdir: Path) -> None:
    write(workdir / "in/a.jsonl", 1)
    run_pipeline(workdir, "1")
    code, out = adf("state", "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "ALIASES", "BYTES", "UPDATED"]
    assert out.splitlines()[1].split()[:2] == ["landing", "src"]
    code, out = adf("state", "show", "landing")
    assert code == 0 and "in/a.jsonl" in out
    code, out = adf("state", "show", "landin")
    assert code == 1 and "did you mean 'landing'" in out
    code, out = adf("state", "reset", "landing", "dst")
    assert code == 1 and "its aliases are: src" in out
    code, out = adf("state", "reset", "landing", "src")
    assert code == 0 and "reset the state of 'src' of 'landing'" in out
    assert json.loads(adf("state", "list", "--json")[1])["pipelines"] == []
    assert run_pipeline(workdir, "2")[0] == 0
    assert loaded(workdir / "out/2.jsonl") == [1]  # reset: everything is new again


def test_name_and_store_from_flags_settings_and_environment(workdir: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    write(workdir / "in/a.jsonl", 1)
    flags = ["run", "src=file | out=file", "-o", "src.path=in/*.jsonl", "-o",
             "src.incremental=true", "-o", "out.path=out/f.jsonl", "-q"]
    code, out = adf(*flags)
    assert code == 2 and "--name NAME" in out
    store = f"sqlite:///{workdir / 'flags.db'}"
    assert adf(*flags, "--name", "byflag", "--state", store)[0] == 0
    assert json.loads(adf("state", "show", "byflag", "--state", store, "--json")[1])["name"] \
        == "byflag"
    settings = f'[settings]\nstate = "{store}"\n'
    (workdir / "flow.toml").write_text(PIPELINE.format(run="s") + settings)
    assert adf("run", "-f", "flow.toml", "-q")[0] == 0
    assert "landing" in adf("state", "list", "--state", store)[1]
    monkeypatch.setenv("ADF_STATE", store)
    assert "byflag" in adf("state", "list")[1]  # the state commands find it as runs do
    assert not (workdir / ".adf").exists()
    assert os.path.exists(workdir / "flags.db")


def test_the_plan_says_where_the_state_is_kept_and_hides_the_password(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(workdir / "in/a.jsonl", 1)
    (workdir / "flow.toml").write_text(PIPELINE.format(run="p"))
    code, out = adf("run", "-f", "flow.toml", "--dry-run")
    assert code == 0
    assert "state: pipeline 'landing', kept by src in sqlite:///.adf/state.db" in out
    monkeypatch.setenv("ADF_STATE", "postgresql+psycopg://user:sekret@db.example/etl")
    code, out = adf("run", "-f", "flow.toml", "--dry-run", "--json")
    assert code == 0 and "sekret" not in out
    assert json.loads(out)["state"] == {"name": "landing", "aliases": ["src"],
                                        "store": "postgresql+psycopg://user:***@db.example/etl"}
