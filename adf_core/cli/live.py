"""A live status line for long runs on a terminal: running, done, failed, elapsed, records.

``LiveView`` is a structlog processor (it watches the engine's events) and the stream the
log lines are written through, so that it can clear its line, let a log line pass, and
draw itself again below it. It is only used when stderr is a TTY.
"""

from __future__ import annotations

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
                if event_dict.get("records") is not None:
                    self.records[str(alias)] = int(event_dict["records"])
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
            self.stream.write(text)
            self._draw()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def _draw(self) -> None:
        if (self._thread is not None and not self._stopped.is_set()
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


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns
