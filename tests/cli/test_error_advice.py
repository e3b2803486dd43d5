"""Error messages that name what the reader can act on: the real component behind a
duplicated alias, the `-o`/`-p` flags a CLI user types (and the Python calls a library user
writes), and the file the user asked for rather than our hidden temporary file."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adf_core import DataFlow, FlowDefinitionError, MissingInputError, step

NEEDS_DAY = "def needs(day):\n    return {'day': day}\n"


def adf(*args: str, cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adf_core.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, **(env or {})})


# -- a duplicated alias ------------------------------------------------------------------

def test_a_duplicated_alias_hint_names_the_real_component(tmp_path: Path) -> None:
    done = adf("run", "a=file, a=file | stdout", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert "the alias 'a' is used twice (stage 1, member 1 and stage 1, member 2)" in done.stderr
    assert "write them 'a=file' and 'a_2=file'" in done.stderr
    assert "a=a" not in done.stderr

    def load_orders() -> None: ...

    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow(((load_orders, step(load_orders)),))
    assert ("write them 'load_orders=load_orders' and 'load_orders_2=load_orders', in Python "
            "step(load_orders, name='load_orders_2')") in str(caught.value)


# -- a missing input: advice for its reader -------------------------------------------------

ANY_KEYS = "def anything():\n    return {'other': 1}\n"  # may return any key: not known


def test_a_cli_user_is_told_the_flags_to_type(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(NEEDS_DAY + ANY_KEYS)
    env = {"PYTHONPATH": str(tmp_path)}
    # Found before the run (nothing earlier provides it: exit 2), or only when the run gets
    # there (an earlier stage might have returned it: exit 1); the same advice either way.
    for flow, code in (("jobs:needs | stdout", 2), ("jobs:anything | jobs:needs | stdout", 1)):
        for extra in ([], ["--json"]):
            done = adf("run", flow, *extra, cwd=tmp_path, env=env)
            assert done.returncode == code, done.stderr
            text = done.stderr + done.stdout
            assert ("-o needs.day=VALUE (this component) or -p day=VALUE (the whole "
                    "flow)") in text
            assert "Pass it in the params" not in text and "step(fn" not in text
    # Following the advice works.
    for flag in (["-o", "needs.day=2026-11-24"], ["-p", "day=2026-11-24"]):
        done = adf("run", "jobs:needs | stdout", *flag, "-o", "stdout.format=jsonl",
                   cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"day": "2026-11-24"}


def test_a_python_user_is_told_the_calls_to_write(invoke: Any, tmp_path: Path) -> None:
    def needs(day: str) -> None: ...

    with pytest.raises(MissingInputError) as caught:
        DataFlow((needs,)).run()
    message = str(caught.value)
    assert ("Pass it in the params (flow.run({'day': ...})), bind it as an option "
            "(step(fn, options={'day': ...}))") in message
    assert "-o " not in message
    # The CLI in the same process does not change what the Python API says afterwards.
    invoke(["run", "numbers | jsonl", "--dry-run", "-o", f"jsonl.path={tmp_path / 'x'}"])
    with pytest.raises(MissingInputError, match="Pass it in the params"):
        DataFlow((needs,)).run()
    error = MissingInputError("needs", "day", [], "stage 1")  # no traceback to carry along
    copy = pickle.loads(pickle.dumps(error))  # crosses process executors whole
    assert (copy.component, copy.parameter, str(copy)) == ("needs", "day", message)


# -- an output that cannot be written ------------------------------------------------------

# Starts `adf` as this user would, except that root first gives up the capabilities that let
# it write anywhere (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH leave the bounding set, so the
# program it executes obeys file modes like any user).
LAUNCH = """
import ctypes, os, sys
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            sys.exit(99)
os.execv(sys.executable, [sys.executable, "-m", "adf_core.cli", *sys.argv[1:]])
"""


def adf_as_a_user(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory that `adf_as_a_user` may not write to."""
    if os.geteuid() == 0 and adf_as_a_user("--version", cwd=tmp_path).returncode == 99:
        pytest.skip("running as root without CAP_SETPCAP: root's override cannot be dropped")
    (tmp_path / "in.jsonl").write_text('{"id": 1}\n')
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        yield tmp_path
    finally:
        locked.chmod(0o755)


def test_an_unwritable_output_is_named_with_the_reason(readonly_dir: Path) -> None:
    target = readonly_dir / "locked" / "out.jsonl"
    done = adf_as_a_user("run", "file | out=file", "-o", f"file.path={readonly_dir}/in.jsonl",
                         "-o", f"out.path={target}", "-q", cwd=readonly_dir)
    assert done.returncode == 1, done.stderr
    assert (f"PermissionError: [Errno 13] cannot write {str(target)!r}: Permission denied: the "
            f"directory {str(target.parent)!r} is not writable") in done.stderr
    assert ".out.jsonl." not in done.stderr and ".tmp" not in done.stderr
    assert os.listdir(readonly_dir / "locked") == []


def test_a_directory_in_place_of_the_output_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": 1}\n')
    (tmp_path / "out.jsonl").mkdir()
    done = adf("run", "file | out=file", "-o", "file.path=in.jsonl", "-o", "out.path=out.jsonl",
               "-q", cwd=tmp_path)
    assert done.returncode == 1
    assert "cannot write 'out.jsonl': it is a directory; give a file name" in done.stderr
    assert ".tmp" not in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]
