"""A real ``adf run`` process exports its run to a real OTLP/HTTP receiver on 127.0.0.1: the
spans (run -> stage -> component attempt) with their attributes and parents, errors on the
spans of failed attempts, and the metrics."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from adf_plugin_otel.receiver import Point, Receiver, Span

ADF = [sys.executable, "-m", "adf_core.cli"]


def adf(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ADF, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def by_name(spans: list[Span]) -> dict[str, list[Span]]:
    found: dict[str, list[Span]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found


def last_points(points: list[Point], metric: str) -> dict[str, Point]:
    """The latest point of ``metric`` per alias (a cumulative metric is sent at the end of
    the run and again when the process exits)."""
    return {str(p.attributes.get("adf.alias", "")): p for p in points if p.metric == metric}


def write_orders(path: Path, count: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "amount"])
        for number in range(1, count + 1):
            writer.writerow([number, number * 1.5])


def test_a_streaming_etl_run_is_one_trace_with_stages_components_and_metrics(
        receiver: Receiver, otel_env: dict[str, str], tmp_path: Path) -> None:
    write_orders(tmp_path / "orders.csv", 250)
    done = adf(["run", "src=file | dst=db", "-o", "src.path=orders.csv",
                "-o", f"dst.url=sqlite:///{tmp_path / 'out.db'}", "-o", "dst.table=orders",
                "-q"], otel_env, tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "out.db") as db:
        assert db.execute("select count(*) from orders").fetchone()[0] == 250

    spans = receiver.spans()
    named = by_name(spans)
    assert sorted(named) == ["adf run", "dst", "src", "stage 1", "stage 2"]
    assert all(len(items) == 1 for items in named.values())
    run, stage1, stage2 = named["adf run"][0], named["stage 1"][0], named["stage 2"][0]
    src, dst = named["src"][0], named["dst"][0]
    assert len({span.trace_id for span in spans}) == 1
    assert run.parent_id == ""
    assert stage1.parent_id == stage2.parent_id == run.span_id
    assert src.parent_id == stage1.span_id and dst.parent_id == stage2.span_id
    assert run.attributes["adf.flow"] == "src=file | dst=db"
    assert run.attributes["adf.status"] == "succeeded" and run.status_code != 2
    assert run.resource["service.name"] == "adf-tests"
    assert run.resource["deployment.environment"] == "test"
    assert src.attributes.items() >= {
        "adf.alias": "src", "adf.component": "file", "adf.kind": "source", "adf.stage": 1,
        "adf.attempt": 1, "adf.status": "succeeded", "adf.records_in": 0,
        "adf.records_out": 250}.items()
    assert dst.attributes.items() >= {
        "adf.alias": "dst", "adf.component": "db", "adf.kind": "destination", "adf.stage": 2,
        "adf.attempt": 1, "adf.status": "succeeded", "adf.records_in": 250,
        "db.system": "sqlite"}.items()
    # streaming: the destination's stage starts before the source's ends
    assert stage2.start < stage1.end
    assert run.start <= stage1.start and stage2.end <= run.end

    points = receiver.points()
    records_in = last_points(points, "adf.component.records_in")
    records_out = last_points(points, "adf.component.records_out")
    durations = last_points(points, "adf.component.duration")
    assert records_out["src"].value == 250 and records_in["dst"].value == 250
    assert records_in["src"].value == 0
    assert records_out["src"].unit == "{record}"
    assert durations["dst"].count == 1 and durations["dst"].value > 0
    assert durations["dst"].unit == "s"
    assert durations["dst"].attributes["adf.kind"] == "destination"
    run_duration = last_points(points, "adf.run.duration")[""]
    assert run_duration.count == 1 and run_duration.attributes == {"adf.status": "succeeded"}


def test_each_attempt_is_a_span_and_errors_are_recorded_on_them(
        receiver: Receiver, otel_env: dict[str, str], tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "in.db").close()  # a database without the table asked for
    done = adf(["run", "src=db | dst=file", "-o", f"src.url=sqlite:///{tmp_path / 'in.db'}",
                "-o", "src.table=missing", "-o", "dst.path=out.jsonl", "--retries", "1",
                "-q"],
               otel_env, tmp_path)
    assert done.returncode != 0
    named = by_name(receiver.spans())
    attempts = sorted(named["src"], key=lambda span: span.attributes["adf.attempt"])
    assert [span.attributes["adf.attempt"] for span in attempts] == [1, 2]
    assert [span.attributes["adf.status"] for span in attempts] == ["retrying", "failed"]
    for span in attempts:
        assert span.status_code == 2 and "missing" in span.status_message
        events = dict(span.events)
        assert "exception" in events and "missing" in events["exception"]["exception.message"]
        assert span.attributes["db.system"] == "sqlite"
    assert attempts[0].parent_id == attempts[1].parent_id == named["stage 1"][0].span_id
    assert named["stage 1"][0].status_code == 2 and named["stage 1"][0].status_message == (
        "src failed")
    run = named["adf run"][0]
    assert run.attributes["adf.status"] == "failed" and run.status_code == 2
    assert "missing" in run.status_message
    records_out = last_points(receiver.points(), "adf.component.records_out")
    assert records_out["src"].attributes["adf.status"] == "failed"


def test_nothing_is_sent_with_the_sdk_disabled(receiver: Receiver, otel_env: dict[str, str],
                                               tmp_path: Path) -> None:
    env = dict(otel_env, OTEL_SDK_DISABLED="true")
    write_orders(tmp_path / "in.csv", 3)
    done = adf(["run", "src=file | dst=file", "-o", "src.path=in.csv",
                "-o", "dst.path=out.jsonl", "-q"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 3
    assert receiver.requests == []


def _modules_after(code: str, env: dict[str, str], cwd: Path) -> Any:
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


RUN_AND_LIST = """
import sys
from adf_core.cli import main
try:
    main(["run", "src=file | dst=file", "-o", "src.path=in.csv", "-o", "dst.path=out.jsonl",
          "-q"])
except SystemExit as exit:
    assert not exit.code, exit.code
print(sorted({name.split(".")[0] for name in sys.modules if name.startswith("opentelemetry")}))
"""


def test_opentelemetry_is_imported_only_when_the_plugin_observes_a_run(
        receiver: Receiver, otel_env: dict[str, str], tmp_path: Path) -> None:
    write_orders(tmp_path / "in.csv", 3)
    assert _modules_after(RUN_AND_LIST, otel_env, tmp_path) == "['opentelemetry']"
    assert receiver.spans()  # the control: the plugin did observe that run
    blocked = dict(otel_env, ADF_DISABLE_PLUGINS="otel")
    assert _modules_after(RUN_AND_LIST, blocked, tmp_path) == "[]"
    nowhere = {k: v for k, v in otel_env.items() if k != "OTEL_EXPORTER_OTLP_ENDPOINT"}
    assert _modules_after(RUN_AND_LIST, nowhere, tmp_path) == "[]"  # no endpoint named
    help_only = ("import sys\nfrom adf_core.cli import main\ntry:\n    main(['--help'])\n"
                 "except SystemExit:\n    pass\n"
                 "print([n for n in sys.modules if n.startswith('opentelemetry')])")
    assert _modules_after(help_only, otel_env, tmp_path) == "[]"
