"""Test kit for broker plugins (DESIGN 15): the at-least-once tests, once for every broker.

A plugin's tests describe their broker with a :class:`Broker` (publish raw messages, count
what is left unacknowledged, the source's and destination's options) and call the scenarios:
a round trip through the plugin's destination and source, an ``adf`` process SIGKILLed
mid-stream and restarted, a SIGTERM drain, a bad message dead-lettered, and a connection cut
by a TCP proxy (:class:`adf_core.testing.proxy.TcpProxy`: the client sees the server close
it). Every scenario runs real ``adf`` processes and asserts on the data.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from adf_core.testing.proxy import TcpProxy

__all__ = ["Broker", "CrashFigures", "TcpProxy", "adf_process", "crash_and_restart",
           "dead_letter", "drain", "parts", "reconnect", "require_port", "round_trip"]


def require_port(name: str, host: str, port: int) -> None:
    """Skip (fail under ADF_REQUIRE_SERVICES=1) unless ``host:port`` answers."""
    import pytest

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return
    except OSError:
        reason = f"{name} is not running on {host}:{port}"
        if os.environ.get("ADF_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and ADF_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)


@dataclass
class Broker:
    """One broker and one fresh place on it (a queue, a stream, a topic)."""

    component: str  # the source's and destination's name: amqp, nats, redis, mqtt
    url: str
    #: options of the source and the destination for this place (queue=..., stream=...)
    options: dict[str, str]
    #: publish raw message bodies to the place
    publish: Callable[[list[bytes]], None]
    #: messages not acknowledged by any consumer (None: the broker cannot tell)
    left: Callable[[], int | None]
    #: options only the source takes (a consumer group, a durable name)
    source_options: dict[str, Any] = field(default_factory=dict)
    #: called before messages are published (MQTT: open the consumer's session, or the
    #: broker keeps nothing for it)
    prepare: Callable[[], None] = lambda: None
    #: the source's flow-control options in the crash, drain and reconnect scenarios
    window: dict[str, Any] = field(default_factory=lambda: {"prefetch": 500, "batch_size": 100})


@dataclass
class CrashFigures:
    """What a crash scenario saw (for the report)."""

    published: int
    found: int
    duplicates: int
    left_unacknowledged: int | None
    kills: int


def _opts(alias: str, options: dict[str, Any]) -> list[str]:
    return [arg for k, v in options.items() for arg in ("-o", f"{alias}.{k}={v}")]


def adf_process(flow: str, options: list[str], cwd: Path, *extra: str
                ) -> subprocess.Popen[str]:
    """``adf run FLOW`` in a real process (the installed entry points)."""
    return subprocess.Popen(
        [sys.executable, "-m", "adf_core.cli", "run", flow, *options, "-q", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


def parts(directory: Path) -> list[dict[str, Any]]:
    """The records of every committed part file under ``directory`` (``out-*.jsonl``)."""
    return [json.loads(line) for p in sorted(directory.glob("out-*.jsonl"))
            for line in p.read_text().splitlines()]


def _holds(directory: Path, count: int) -> bool:
    return len(parts(directory)) >= count


def _wait(proc: subprocess.Popen[str], condition: Callable[[], bool], what: str,
          limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"adf ended ({proc.returncode}) before {what}: {err}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def _finish(proc: subprocess.Popen[str], limit: float = 60) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"adf did not end: {err}") from None
    return proc.returncode, out, err


def messages(count: int) -> list[bytes]:
    return [json.dumps({"n": n, "pad": "x" * 20}).encode() for n in range(count)]


def _ns(records: list[dict[str, Any]]) -> Counter[int]:
    return Counter(int(r["n"]) for r in records)


def _source(broker: Broker, **more: Any) -> list[str]:
    return _opts("src", {"url": broker.url, **broker.options, **broker.source_options,
                         **more})


def _out(directory: Path, **more: Any) -> list[str]:
    return _opts("out", {"path": str(directory / "out.jsonl"), **more})


def round_trip(broker: Broker, tmp_path: Path, count: int = 300) -> None:
    """Records written by the plugin's destination come back whole from its source."""
    broker.prepare()
    records = [{"n": n, "name": f"r{n}", "nested": {"ok": n % 2 == 0}} for n in range(count)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    dest_opts = _opts("dst", {"url": broker.url, **broker.options})
    code, _, err = _finish(adf_process("in=file | dst=" + broker.component,
                                       ["-o", f"in.path={source}", *dest_opts], tmp_path))
    assert code == 0, err
    code, out, err = _finish(adf_process(
        f"src={broker.component} | out=file",
        [*_source(broker, max_messages=count), *_out(tmp_path / "back")], tmp_path, "--json"))
    assert code == 0, err
    assert sorted(parts(tmp_path / "back"), key=lambda r: r["n"]) == records
    if "@" in broker.url:  # the URL's password is redacted everywhere
        password = broker.url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
        assert f":{password}@" not in out + err
    left = broker.left()
    assert left in (0, None), f"{left} messages left unacknowledged"


def crash_and_restart(broker: Broker, tmp_path: Path, count: int = 8_000,
                      kill_at: tuple[int, ...] = (1_000, 4_000)) -> CrashFigures:
    """SIGKILL an unbounded run at each point of ``kill_at`` (records committed), restart it,
    and finally let a run end on ``idle_timeout``: every message is in the part files at
    least once, and nothing is left unacknowledged."""
    broker.prepare()
    broker.publish(messages(count))
    out = tmp_path / "out"
    kills = 0
    for point in kill_at:
        proc = adf_process(f"src={broker.component} | out=file",
                           [*_source(broker, **broker.window),
                            *_out(out, commit_every=300, commit_interval=0.2)], tmp_path)
        _wait(proc, partial(_holds, out, point), f"{point} records committed")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    proc = adf_process(f"src={broker.component} | out=file",
                       [*_source(broker, idle_timeout=4), *_out(out)], tmp_path)
    code, _, err = _finish(proc, 120)
    assert code == 0, err
    found = _ns(parts(out))
    missing = set(range(count)) - set(found)
    assert not missing, f"{len(missing)} messages lost, e.g. {sorted(missing)[:5]}"
    left = broker.left()
    assert left in (0, None), f"{left} messages left unacknowledged"
    return CrashFigures(published=count, found=len(found),
                        duplicates=sum(found.values()) - len(found),
                        left_unacknowledged=left, kills=kills)


def drain(broker: Broker, tmp_path: Path, count: int = 8_000, at: int = 1_500,
          upfront: int | None = None) -> CrashFigures:
    """SIGTERM mid-stream (once ``at`` records are committed) drains: exit 0, what was
    committed was acknowledged (a second run finds exactly the rest), no loss and no
    duplicate. With ``upfront``, only that many messages are published before the run and
    the rest once the signal is sent: a broker that keeps few messages for a consumer (MQTT)
    then still has some the first run cannot have read, however fast it reads."""
    broker.prepare()
    bodies = messages(count)
    first_part = count if upfront is None else upfront
    broker.publish(bodies[:first_part])
    out = tmp_path / "out"
    proc = adf_process(f"src={broker.component} | out=file",
                       [*_source(broker, **broker.window),
                        *_out(out, commit_every=300, commit_interval=0.2)], tmp_path)
    _wait(proc, lambda: len(parts(out)) >= at, f"{at} records committed")
    proc.send_signal(signal.SIGTERM)
    if first_part < count:
        broker.publish(bodies[first_part:])
    code, _, err = _finish(proc)
    assert code == 0, err
    first = _ns(parts(out))
    assert all(v == 1 for v in first.values())
    assert len(first) < count, "the drain came too late to show anything"
    code, _, err = _finish(adf_process(f"src={broker.component} | out=file",
                                       [*_source(broker, idle_timeout=1.5), *_out(out)],
                                       tmp_path))
    assert code == 0, err
    found = _ns(parts(out))
    assert sorted(found) == list(range(count))
    duplicates = sum(found.values()) - len(found)
    assert duplicates == 0
    left = broker.left()
    assert left in (0, None), f"{left} messages left unacknowledged"
    return CrashFigures(count, len(found), duplicates, left, 0)


def dead_letter(broker: Broker, tmp_path: Path) -> None:
    """Messages that are not JSON objects go to the dead-letter file, are counted as
    rejected, and are acknowledged (nothing is left on the broker)."""
    broker.prepare()
    good = messages(20)
    bad = [b"not json at all", b"[1, 2, 3]"]
    broker.publish(good[:10] + bad[:1] + good[10:] + bad[1:])
    out = tmp_path / "out"
    letters = tmp_path / "dead.jsonl"
    code, stdout, err = _finish(adf_process(
        f"src={broker.component} | out=file", [*_source(broker, idle_timeout=1.5), *_out(out)],
        tmp_path, "--dead-letter", str(letters), "--json"))
    assert code == 0, err
    assert sorted(_ns(parts(out))) == list(range(20))
    summary = json.loads(stdout)
    assert summary["records_rejected"] == 2
    entries = [json.loads(line) for line in letters.read_text().splitlines()]
    assert [e["record"] for e in entries] == ["not json at all", "[1, 2, 3]"]
    assert all(e["component"] == "src" for e in entries)
    assert "not a JSON object" in entries[1]["error"]
    left = broker.left()
    assert left in (0, None), f"{left} messages left unacknowledged"


def reconnect(broker: Broker, tmp_path: Path, proxied_url: Callable[[int], str],
              host: str, port: int, count: int = 4_000, cuts: tuple[int, ...] = (800, 2_400)
              ) -> None:
    """The connection is cut twice mid-stream: the source reconnects with backoff and every
    message arrives at least once, with nothing left unacknowledged."""
    broker.prepare()
    broker.publish(messages(count))
    out = tmp_path / "out"
    with TcpProxy(host, port) as proxy:
        url = proxied_url(proxy.port)
        proc = adf_process(
            f"src={broker.component} | out=file",
            [*_opts("src", {**broker.options, **broker.source_options, "url": url,
                            "idle_timeout": 4, **broker.window}),
             *_out(out, commit_every=200, commit_interval=0.1)], tmp_path)
        for point in cuts:
            _wait(proc, partial(_holds, out, point), f"{point} records committed")
            proxy.cut()
        code, _, err = _finish(proc, 120)
    assert code == 0, err
    assert proxy.cuts >= len(cuts)
    found = _ns(parts(out))
    assert sorted(found) == list(range(count))
    left = broker.left()
    assert left in (0, None), f"{left} messages left unacknowledged"
