"""Retries reach streams: a streaming component that fails before its first item (the
open/connect phase) is retried like any other; after its first item it is not; a component
that reads a stream never is. ``--dry-run`` says what retries cover."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from trust_support import ADF, env, events, run_adf

from adf_core import ComponentError, DataFlow, step


def _flaky(failures: int) -> tuple[Any, list[int]]:
    attempts: list[int] = []

    def source() -> Iterator[list[dict[str, int]]]:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= failures:
            raise ConnectionRefusedError(f"attempt {len(attempts)}: refused")
        yield [{"n": 1}, {"n": 2}]
        yield [{"n": 3}]

    return source, attempts


def _total(source: Any) -> dict[str, int]:
    return {"total": sum(len(batch) for batch in source)}


def test_a_stream_that_fails_before_its_first_item_is_retried() -> None:
    source, attempts = _flaky(failures=2)
    flow = DataFlow((step(source, retries=2), _total), retry_delay=0.01)
    result = flow.run()
    assert attempts == [1, 2, 3]
    assert result["total"] == 3
    assert result.records["source"].records_out == 3
    assert result.records["_total"].records_in == 3


def test_retries_run_out_and_the_error_names_the_attempts() -> None:
    source, attempts = _flaky(failures=5)
    with pytest.raises(ComponentError, match="after 3 attempts: ConnectionRefusedError"):
        DataFlow((step(source, retries=2), _total), retry_delay=0.01).run()
    assert attempts == [1, 2, 3]


def test_a_stream_that_nobody_reads_is_retried_too() -> None:
    source, attempts = _flaky(failures=1)
    result = DataFlow(step(source, retries=1), retry_delay=0.01).run()
    assert attempts == [1, 2] and result["source"] == [[{"n": 1}, {"n": 2}], [{"n": 3}]]


def test_an_async_stream_is_retried_before_its_first_item() -> None:
    attempts: list[int] = []

    async def source() -> AsyncIterator[dict[str, int]]:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("not yet")
        for n in range(4):
            yield {"n": n}

    async def count(source: Any) -> dict[str, int]:
        return {"count": len([item async for item in source])}

    result = DataFlow((step(source, retries=3), count), retry_delay=0.01).run()
    assert len(attempts) == 3 and result["count"] == 4


def test_after_its_first_item_a_stream_is_not_retried() -> None:
    calls: list[int] = []

    def source() -> Iterator[list[dict[str, int]]]:
        calls.append(1)
        yield [{"n": 1}]
        raise ConnectionResetError("lost the connection mid-stream")

    received: list[int] = []

    def reader(source: Any) -> None:
        for batch in source:
            received.extend(r["n"] for r in batch)

    with pytest.raises(ComponentError, match=r"'source' .* failed: ConnectionResetError"):
        DataFlow((step(source, retries=3), reader), retry_delay=0.01).run()
    assert calls == [1], "no second attempt once an item went out"
    assert received in ([], [1]), "nothing was delivered twice"  # [] if cancelled first


def test_a_component_that_reads_a_stream_is_never_retried() -> None:
    calls: list[int] = []

    def source() -> Iterator[int]:
        yield from range(3)

    def reader(source: Any) -> None:
        calls.append(1)
        list(source)
        raise ValueError("bad")

    flow = DataFlow((source, step(reader, retries=3)), retry_delay=0.01)
    assert [c.retries_cover for c in flow.components] == ["until first item",
                                                         "n/a (reads a stream)"]
    with pytest.raises(ComponentError):
        flow.run()
    assert calls == [1]


def test_a_timed_out_sync_open_is_retried_once_its_thread_returns() -> None:
    attempts: list[float] = []

    def source() -> Iterator[list[int]]:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            time.sleep(0.3)  # a slow connect, past the timeout; then it gives up
            raise TimeoutError("connect timed out")
        yield [1, 2]

    result = DataFlow((step(source, retries=1, timeout=0.1), _total), retry_delay=0.01,
                      thread_grace=5).run()
    assert len(attempts) == 2 and result["total"] == 2
    assert attempts[1] - attempts[0] >= 0.3, "the retry waited for the first thread"


# --- through ``adf run``: a refused PostgreSQL connection, then a port that listens -----------


class Forwarder:
    """A TCP port that refuses connections until ``start()``, then forwards to PostgreSQL."""

    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # closed: connections are refused
        self.server: socket.socket | None = None

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self.server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", 5432))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
def orders(postgresql_url: str) -> Iterator[str]:
    import sqlalchemy as sa

    url = postgresql_url
    table = f"adf_retry_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create table {table} (id integer primary key, amount integer)"))
        conn.execute(sa.text(f"insert into {table} select g, g * 10 from generate_series(1, 25) g"))
    yield table
    with engine.begin() as conn:
        conn.execute(sa.text(f"drop table {table}"))
    engine.dispose()


def test_adf_retries_a_refused_database_connection(orders: str, tmp_path: Path) -> None:
    port = Forwarder()
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [ADF, "run", "src=db | out=file", "--retries", "5", "--log-format", "json",
         "-o", f"src.url=postgresql+psycopg://postgres@127.0.0.1:{port.port}/test",
         "-o", f"src.table={orders}", "-o", "src.batch_size=10", "-o", f"out.path={out}"],
        cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # the first attempt is refused: only then open the port
            seen.append(line)
            if '"component.retrying"' in line:
                port.start()
                break
        rest = proc.communicate(timeout=60)[1]
    finally:
        port.close()
    stderr = "".join(seen) + rest
    assert proc.returncode == 0, stderr
    retrying = [e for e in events(stderr) if e["event"] == "component.retrying"]
    assert retrying and retrying[0]["component"] == "src"
    assert "refused" in retrying[0]["error"].lower()
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == list(range(1, 26))
    finished = {e["component"]: e for e in events(stderr) if e["event"] == "component.finished"}
    assert finished["src"]["attempt"] == len(retrying) + 1
    assert (finished["src"]["records_out"], finished["out"]["records_in"]) == (25, 25)


def test_without_retries_the_refused_connection_fails_at_once(tmp_path: Path) -> None:
    port = Forwarder()
    done = run_adf("src=db | out=file", "-o",
                   f"src.url=postgresql+psycopg://postgres@127.0.0.1:{port.port}/test",
                   "-o", "src.table=t", "-o", f"out.path={tmp_path / 'out.jsonl'}", cwd=tmp_path)
    assert done.returncode == 1
    assert "component 'src' (stage 1) failed" in done.stderr
    assert not any(e["event"] == "component.retrying" for e in events(done.stderr))


def test_dry_run_says_what_retries_cover(tmp_path: Path) -> None:
    done = run_adf("src=db | merge | out=file", "--retries", "2", "--dry-run",
                   "-o", "src.url=sqlite:///x.db", "-o", "src.table=t",
                   "-o", f"out.path={tmp_path / 'o.jsonl'}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[2]: line for line in done.stdout.splitlines()[2:] if line.strip()
             and not line.startswith(("dry run", "note"))}
    assert "retries: 2 until first item" in lines["src"]
    assert "retries: n/a (reads a stream)" in lines["merge"]
    assert "retries: n/a (reads a stream)" in lines["out"]
    plan = json.loads(run_adf("src=db | merge | out=file", "--retries", "2", "--dry-run",
                              "--json", "-o", "src.url=sqlite:///x.db", "-o", "src.table=t",
                              "-o", "out.path=o.jsonl", cwd=tmp_path).stdout)
    assert [(c["alias"], c["retries"], c["retries_cover"]) for c in plan["components"]] == [
        ("src", 2, "until first item"), ("merge", 2, "n/a (reads a stream)"),
        ("out", 2, "n/a (reads a stream)")]


def test_dry_run_for_a_plain_component_says_every_attempt(tmp_path: Path) -> None:
    plan = json.loads(run_adf("trust_jobs:rows | out=file", "--retries", "1", "--dry-run",
                              "--json", "-o", "out.path=o.jsonl", cwd=tmp_path).stdout)
    assert [c["retries_cover"] for c in plan["components"]] == ["every attempt",
                                                                "every attempt"]


