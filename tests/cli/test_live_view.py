"""The live status line: drawn on a TTY only, redrawn around log lines, erased at the end."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from adf_core.cli.live import CLEAR, LiveView

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_tracks_running_done_and_failed() -> None:
    screen = Terminal()
    view = LiveView(screen, interval=60, width=200, delay=0).start()
    for event, alias in [("component.started", "a"), ("component.started", "b"),
                         ("component.finished", "a"), ("component.started", "c"),
                         ("component.failed", "c")]:
        view(None, "info", {"event": event, "component": alias})
    assert "running 1: b | done 1 | failed 1" in view.line()
    view.write("a log line\n")
    view.stop()
    text = screen.getvalue()
    assert "a log line\n" + CLEAR + "adf " in text  # redrawn below the log line
    assert text.endswith(CLEAR)  # erased at the end
    assert "running 1: b" in text


def test_short_runs_draw_nothing() -> None:
    screen = Terminal()
    view = LiveView(screen, interval=0.01, delay=60).start()
    view(None, "info", {"event": "component.started", "component": "a"})
    view.write("a log line\n")
    view.stop()
    assert screen.getvalue() == "a log line\n"


def test_long_lines_are_cut_to_the_terminal_width() -> None:
    view = LiveView(Terminal(), width=40)
    for index in range(20):
        view(None, "info", {"event": "component.started", "component": f"component{index}"})
    assert len(view.line()) == 39 and view.line().endswith("…")


def test_no_live_view_when_stderr_is_not_a_tty(invoke: Any, tmp_path: Path) -> None:
    result = invoke(["run", "slow | jsonl", "-o", f"jsonl.path={tmp_path / 'o'}"])
    assert result.exit_code == 0 and "\x1b[K" not in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_live_view_on_a_terminal(tmp_path: Path) -> None:
    import pty
    import subprocess

    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": f"{PLUGINS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "adf_core.cli", "run",
         "adf_sample_basic:slow | adf_sample_basic:jsonl", "-o", "slow.seconds=1",
         "-o", f"jsonl.path={tmp_path / 'o'}", "-q"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary, env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    os.close(primary)
    screen = b"".join(chunks).decode()
    assert "running 1: slow" in screen
    assert screen.endswith(CLEAR)


def test_status_line_counts_streamed_records_while_they_flow() -> None:
    from adf_core import DataFlow, current_run, step

    view = LiveView(io.StringIO(), width=300)
    seen: dict[str, str] = {}

    def numbers(count: int) -> Any:
        for start in range(0, count, 10):
            yield [{"n": i} for i in range(start, start + 10)]

    def total(numbers: Any) -> dict[str, int]:
        run = current_run()
        assert run is not None
        view(None, "info", {"event": "flow.started", "run_id": run.run_id})
        view(None, "info", {"event": "component.started", "component": "numbers"})
        rows = 0
        for batch in numbers:
            rows += len(batch)
            if rows == 500:
                seen["progress"] = str(run.progress()["numbers"])
                seen["line"] = view.line()
        return {"rows": rows}

    assert DataFlow((step(numbers, options={"count": 1000}), total)).run()["rows"] == 1000
    assert int(seen["progress"]) >= 500, "the engine counts records as they are produced"
    assert "records numbers " in seen["line"]
    shown = int(seen["line"].split("records numbers ")[1].split()[0].replace(",", ""))
    assert 500 <= shown <= 1000


def test_finished_components_keep_their_record_count() -> None:
    view = LiveView(io.StringIO(), width=200)
    view(None, "info", {"event": "component.started", "component": "src"})
    view(None, "info", {"event": "component.finished", "component": "src", "records": 1234})
    assert "records src 1,234" in view.line()
