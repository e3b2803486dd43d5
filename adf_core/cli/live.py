"""A live status line for long runs on a terminal: running, done, failed, elapsed, records.

``LiveView`` is a structlog processor (it watches the engine's events) and the stream the
log lines are written through, so that it can clear its line, let a log line pass, and
draw itself again below it. It is used only when stderr is a TTY, and not under ``-q``.

When stdout is the same terminal (the ``stdout`` destination prints records there), the
line is drawn only between writes: :class:`StdoutGuard` takes the place of ``sys.stdout``
for the run, clears the line before each write of data and lets it come back only once the
data ends a line, so records on the screen are never cut or overwritten.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

CLEAR = "\r\x1b[K"


class LiveView:
    """Redraws one status line every ``interval`` seconds until ``stop()``.

    Nothing is drawn before the run has lasted ``delay`` seconds: short runs stay quiet.
    """

    def __init__(self, stream: TextIO, interval: float = 0.2, width: int | None = None,
                 delay: float = 0.5) -> None:
        self.stream = stream
        self.interval = interval
        self.delay = delay
        self.width = width
        self.running: dict[str, float] = {}
        self.done: list[str] = []
        self.failed: list[str] = []
        self.records: dict[str, int] = {}  # streamed records per component, as they flow
        self.run_id: str | None = None
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._drawn = False
        self._partial = False  # data on the same terminal has not ended its line yet

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event, alias = event_dict.get("event"), event_dict.get("component")
        with self._lock:
            if event == "flow.started":
                self._started = time.monotonic()
                self.run_id = event_dict.get("run_id")
            elif event == "component.started" and alias:
                self.running[str(alias)] = time.monotonic()
            elif event in ("component.finished", "component.failed") and alias:
                self.running.pop(str(alias), None)
                (self.done if event == "component.finished" else self.failed).append(str(alias))
                if event_dict.get("records_out") is not None:
                    self.records[str(alias)] = int(event_dict["records_out"])
        return event_dict

    def line(self) -> str:
        with self._lock:
            elapsed = time.monotonic() - self._started
            running = ", ".join(self.running) or "-"
            text = (
                f"adf {elapsed:6.1f}s | running {len(self.running)}: {running} | "
                f"done {len(self.done)} | failed {len(self.failed)}"
            )
            counts = {**self.records, **self._progress()}
            if counts:
                text += " | records " + ", ".join(f"{a} {n:,}" for a, n in counts.items())
        width = self.width or _terminal_width()
        return text if len(text) < width else text[: width - 2] + "…"

    def _progress(self) -> dict[str, int]:
        """Records streamed so far by the components still running (from the engine)."""
        if self.run_id is None:
            return {}
        from adf_core.engine.run_info import active_run

        run = active_run(self.run_id)
        if run is None:
            return {}
        return {a: n for a, n in run.progress().items() if a in self.running}

    def write(self, text: str) -> int:
        with self._lock:
            if self._drawn:
                self.stream.write(CLEAR)
                self._drawn = False
            if self._partial:  # data on the same terminal is mid-line: log below it
                self.stream.write("\n")
                self._partial = False
            self.stream.write(text)
            self._draw()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def data(self, out: TextIO, text: str) -> int:
        """Write data for the same terminal: clear the line first, draw it again only once
        the data has ended its line."""
        with self._lock:
            if self._drawn:
                self.stream.write(CLEAR)
                self.stream.flush()
                self._drawn = False
            written = out.write(text)
            out.flush()
            if text:
                self._partial = not text.endswith("\n")
            if not self._partial:
                self._draw()
        return written

    def _draw(self) -> None:
        if (self._thread is not None and not self._stopped.is_set() and not self._partial
                and time.monotonic() - self._started >= self.delay):
            self.stream.write(CLEAR + self.line())
            self._drawn = True
        self.stream.flush()

    def start(self) -> LiveView:
        self._thread = threading.Thread(target=self._refresh, name="adf-live-view", daemon=True)
        self._thread.start()
        return self

    def _refresh(self) -> None:
        while not self._stopped.wait(self.interval):
            with self._lock:
                self._draw()

    def stop(self) -> None:
        """Stop redrawing and erase the status line."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._drawn:
                self.stream.write(CLEAR)
                self._drawn = False
            self.stream.flush()


def live_view_wanted(verbosity: int, stderr: Any = None) -> bool:
    """A status line only for people watching: stderr is a terminal and ``-q`` is not set."""
    stderr = sys.stderr if stderr is None else stderr
    try:
        return verbosity >= 0 and bool(stderr.isatty())
    except (AttributeError, ValueError):
        return False


def same_terminal(a: Any, b: Any) -> bool:
    """Whether two streams write to the same terminal device."""
    try:
        if not (a.isatty() and b.isatty()):
            return False
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


class StdoutGuard:
    """``sys.stdout`` for the run when it shares the terminal with the status line."""

    def __init__(self, real: TextIO, live: LiveView) -> None:
        self._real = real
        self._live = live

    @classmethod
    def install(cls, live: LiveView) -> StdoutGuard | None:
        """Put a guard in place of ``sys.stdout`` if stdout is the status line's terminal."""
        if not same_terminal(sys.stdout, live.stream):
            return None
        guard = cls(sys.stdout, live)
        sys.stdout = guard
        return guard

    def uninstall(self) -> None:
        if sys.stdout is self:
            sys.stdout = self._real

    def write(self, text: str) -> int:
        return self._live.data(self._real, text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns
