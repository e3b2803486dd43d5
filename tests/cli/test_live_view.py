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
         "adf_sample_basic:slow | adf_sample_basic:jsonl", "-o", "adf_sample_basic:slow.seconds=1",
         "-o", f"adf_sample_basic:jsonl.path={tmp_path / 'o'}", "-q"],
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
    assert "running 1: adf_sample_basic:slow" in screen
    assert screen.endswith(CLEAR)
