"""The live status line: drawn on a TTY only, redrawn around log lines, erased at the end."""

from __future__ import annotations

import io
import json
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


def _run_on_a_terminal(args: list[str], *, stdout_on_terminal: bool, cwd: Path | None = None,
                      extra_path: str = "") -> tuple[int, str]:
    """Run ``adf`` with stderr (and maybe stdout) on a pseudo-terminal; return the exit code
    and everything the terminal received."""
    import pty
    import subprocess

    primary, secondary = pty.openpty()
    path = os.pathsep.join(p for p in (str(PLUGINS), extra_path,
                                       os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "adf_core.cli", "run", *args],
        stdin=subprocess.DEVNULL, stdout=secondary if stdout_on_terminal else subprocess.DEVNULL,
        stderr=secondary, env=env, cwd=cwd,
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
    code = proc.wait(timeout=60)
    os.close(primary)
    return code, b"".join(chunks).decode()


def _screen(raw: str) -> list[str]:
    """What a terminal shows for ``raw``: carriage returns go back to the start of the line,
    ESC[K erases to its end, newlines move down (enough of a terminal for these tests)."""
    import re

    lines: list[str] = []
    line: list[str] = []
    column = 0
    for token in re.findall(r"\x1b\[[0-9;]*[A-Za-z]|\r\n|.", raw, flags=re.S):
        if token in ("\n", "\r\n"):
            lines.append("".join(line))
            line, column = [], 0
        elif token == "\r":
            column = 0
        elif token == "\x1b[K":
            del line[column:]
        elif token.startswith("\x1b["):
            continue  # colours
        else:
            if column < len(line):
                line[column] = token
            else:
                line.append(token)
            column += 1
    lines.append("".join(line))
    return lines


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_live_view_on_a_terminal(tmp_path: Path) -> None:
    code, screen = _run_on_a_terminal(
        ["adf_sample_basic:slow | adf_sample_basic:jsonl", "-o", "slow.seconds=1",
         "-o", f"jsonl.path={tmp_path / 'o'}"], stdout_on_terminal=False)
    assert code == 0
    assert "running 1: slow" in screen
    assert CLEAR + "adf " in screen  # the status line was drawn...
    assert "adf " not in _screen(screen)[-1]  # ...and erased at the end


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_no_live_view_under_quiet(tmp_path: Path) -> None:
    code, screen = _run_on_a_terminal(
        ["adf_sample_basic:slow | adf_sample_basic:jsonl", "-o", "slow.seconds=1",
         "-o", f"jsonl.path={tmp_path / 'o'}", "-q"], stdout_on_terminal=False)
    assert code == 0
    assert "\x1b[K" not in screen and "running 1" not in screen


TICKS = """
import time

def ticks(count: int = 8):
    for number in range(count):
        time.sleep(0.15)
        yield [{"tick": number, "text": "x" * 30}]
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_the_live_line_never_cuts_records_printed_on_the_same_terminal(tmp_path: Path,
                                                                        fmt: str) -> None:
    (tmp_path / "tick_job.py").write_text(TICKS)
    code, raw = _run_on_a_terminal(
        ["tick_job:ticks | stdout", "-o", f"stdout.format={fmt}", "--log-format", "json"],
        stdout_on_terminal=True, cwd=tmp_path, extra_path=str(tmp_path))
    assert code == 0, raw
    assert CLEAR + "adf " in raw, "the status line was drawn while records streamed"
    data = [line for line in _screen(raw) if '"tick"' in line]
    expected = [json.dumps({"tick": n, "text": "x" * 30}) for n in range(8)]
    assert [line.rstrip(",") for line in data] == expected, "every record is intact, in order"
    assert not any("adf " in line and "running" in line for line in _screen(raw)), \
        "no status line is left on the screen"


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
    view(None, "info", {"event": "component.finished", "component": "src", "records_out": 1234})
    assert "records src 1,234" in view.line()
