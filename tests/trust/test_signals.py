"""SIGTERM, SIGHUP and SIGINT sent to a real ``adf run`` at several points: the run is
cancelled, every open commit rolls back, temporary files are removed, and ``adf`` exits
128 + N with one line saying so. A second signal exits at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trust_support import events, run_adf, start_adf, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

SIGNALS = [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]


@pytest.fixture
def targets(tmp_path: Path, postgresql_url: str) -> Iterator[dict[str, Any]]:
    """A file, a SQLite table and a PostgreSQL table, each holding the OLD records."""
    import sqlalchemy as sa

    postgres = postgresql_url
    out = tmp_path / "out.jsonl"
    seeded = run_adf("src=trust_jobs:rows | out=file, lite=db, pg=db",
                     "-o", "src.count=2", "-o", "src.start=-2",
                     "-o", f"out.path={out}",
                     "-o", f"lite.url=sqlite:///{tmp_path / 'lite.db'}", "-o", "lite.table=t",
                     "-o", f"pg.url={postgres}", "-o", f"pg.table={(table := _table())}",
                     cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    yield {"out": out, "lite": tmp_path / "lite.db", "pg": table, "url": postgres}
    engine = sa.create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def _table() -> str:
    return f"adf_sig_{uuid.uuid4().hex[:10]}"


def _flow(targets: dict[str, Any], source: str, *extra: str) -> list[str]:
    return [f"{source} | out=file, lite=db, pg=db{''.join(f', {e}' for e in extra)}",
            "-o", f"out.path={targets['out']}",
            "-o", f"lite.url=sqlite:///{targets['lite']}", "-o", "lite.table=t",
            "-o", "lite.mode=replace",
            "-o", f"pg.url={targets['url']}", "-o", f"pg.table={targets['pg']}",
            "-o", "pg.mode=replace"]


def _contents(targets: dict[str, Any]) -> dict[str, list[tuple[int, str]]]:
    import json

    import sqlalchemy as sa

    in_file = sorted((r["id"], r["name"]) for r in
                     map(json.loads, targets["out"].read_text().splitlines()))
    with sqlite3.connect(targets["lite"]) as con:
        in_lite = sorted(con.execute("select id, name from t").fetchall())
    engine = sa.create_engine(targets["url"])
    with engine.connect() as conn:
        in_pg = sorted(tuple(r) for r in conn.execute(
            sa.text(f"select id, name from {targets['pg']}")))
    engine.dispose()
    return {"file": in_file, "sqlite": in_lite, "postgresql": in_pg}


def _old() -> list[tuple[int, str]]:
    """What the targets fixture seeded (rows -2 and -1)."""
    return [(-2, "row -2"), (-1, "row -1")]


def _new(count: int) -> list[tuple[int, str]]:
    return [(i, f"row {i}") for i in range(count)]


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp")
                  or "-journal" in p.name or p.name.endswith("-wal"))


def _check_stopped(proc: Any, signum: int, code: int) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    lines = [line for line in err.splitlines() if f"stopped by {name}" in line]
    assert len(lines) == 1, err
    assert f"(exit {code})" in lines[0]
    proc.stdout_text = out
    return err


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=lambda v: str(v))
def test_a_signal_mid_read_rolls_every_target_back(targets: dict[str, Any], tmp_path: Path,
                                                   signum: int, code: int) -> None:
    marker = tmp_path / "reading"
    proc = start_adf(*_flow(targets, "src=trust_jobs:slow_rows"), "-o", f"src.marker={marker}",
                     cwd=tmp_path)
    wait_for(marker.exists, "the source to be half-way")
    assert any(p.name.startswith(".out.jsonl.adf-") for p in tmp_path.iterdir()), \
        "the file destination is writing its temporary file"
    proc.send_signal(signum)
    _check_stopped(proc, signum, code)
    assert _contents(targets) == {"file": _old(), "sqlite": _old(), "postgresql": _old()}
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=lambda v: str(v))
def test_a_signal_mid_write_leaves_old_or_complete_new_content(targets: dict[str, Any],
                                                              tmp_path: Path, signum: int,
                                                              code: int) -> None:
    count = 100_000
    proc = start_adf(*_flow(targets, "src=trust_jobs:rows"), "-o", f"src.count={count}",
                     cwd=tmp_path)

    def writing() -> bool:
        return any(p.name.startswith(".out.jsonl.adf-") and p.stat().st_size > 0
                   for p in tmp_path.iterdir())

    wait_for(writing, "the file destination to be writing")
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=120)
    contents = _contents(targets)
    if proc.returncode == 0:  # it had committed everything before the signal arrived
        assert contents == {"file": _new(count), "sqlite": _new(count),
                            "postgresql": _new(count)}
    else:
        assert proc.returncode == code, err
        assert f"stopped by {signal.Signals(signum).name}" in err
        assert contents == {"file": _old(), "sqlite": _old(), "postgresql": _old()}
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=lambda v: str(v))
def test_a_signal_at_the_commit_gate_rolls_back_and_notify_reports_it(
        targets: dict[str, Any], tmp_path: Path, webhook: Any, signum: int, code: int) -> None:
    marker = tmp_path / "peer"
    proc = start_adf(*_flow(targets, "src=trust_jobs:rows", "peer=trust_jobs:slow_peer",
                            "notify"),
                     "-o", "src.count=500", "-o", f"peer.marker={marker}",
                     "-o", f"notify.url={webhook.url}", "--json", cwd=tmp_path)
    wait_for(marker.exists, "the slow peer to start")

    def file_complete() -> bool:  # written, synced, waiting for its peer at the gate
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl.adf-")]
        return bool(temps) and temps[0].read_text().count("\n") == 500

    wait_for(file_complete, "the file destination to reach its commit gate")
    time.sleep(0.5)  # the database destinations have inserted their rows by now
    proc.send_signal(signum)
    err = _check_stopped(proc, signum, code)
    assert _contents(targets) == {"file": _old(), "sqlite": _old(), "postgresql": _old()}
    assert _leftovers(tmp_path) == []
    (summary,) = webhook.payloads
    name = signal.Signals(signum).name
    assert summary["status"] == "failed"
    assert summary["error"] == f"cancelled (received {name})"
    assert summary["text"].endswith(f"failed: 500 records; cancelled (received {name})")
    finished = [e for e in events(err) if e["event"] == "flow.finished"]
    assert finished[0]["status"] == "failed"
    result = json.loads(proc.stdout_text)
    assert (result["status"], result["signal"], result["run_id"]) == (
        "failed", name, summary["run_id"])
    assert result["error"] == f"cancelled (received {name})"
    statuses = {c["alias"]: c["status"] for c in result["components"]}
    assert statuses["src"] == "succeeded" and statuses["notify"] == "succeeded"
    assert {statuses[a] for a in ("out", "lite", "pg", "peer")} == {"cancelled"}


def test_a_second_signal_exits_at_once_and_removes_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "hung.txt"
    target.write_text("old\n")
    marker = tmp_path / "hanging"
    proc = start_adf("src=trust_jobs:rows | hang=trust_jobs:hang_writer",
                     "-o", f"hang.path={target}", "-o", f"hang.marker={marker}", cwd=tmp_path)
    wait_for(marker.exists, "the hung writer to start")
    temporary = [p for p in tmp_path.iterdir() if p.name.startswith(".hung.txt.adf-")]
    assert len(temporary) == 1
    proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # past the notice: it now waits up to thread_grace (10 s) for the thread
    assert proc.poll() is None, "the first signal waits for the sync component"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5, "the second signal did not wait for the thread"
    assert proc.returncode == 143
    assert "SIGTERM again: exiting at once" in err
    assert '"event": "component.waiting"' in err
    assert not temporary[0].exists(), "the temporary file of the hung writer is removed"
    assert target.read_text() == "old\n"
