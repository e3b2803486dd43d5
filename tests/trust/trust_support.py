"""Helpers of the trust tests: real ``adf`` processes, waiting for markers, a webhook."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ADF = str(Path(sys.executable).with_name("adf"))


def env(**extra: str) -> dict[str, str]:
    """The environment of an ``adf`` process that can import ``trust_jobs``."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def start_adf(*args: str, cwd: Path, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([ADF, "run", *args, "--log-format", "json"], cwd=cwd, env=env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_adf(*args: str, cwd: Path, timeout: float = 120, **extra: str
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ADF, "run", *args, "--log-format", "json"], cwd=cwd, env=env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def events(stderr: str) -> list[dict[str, Any]]:
    found = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found


@dataclass
class Webhook:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""

    url: str
    status: int = 200
    payloads: list[dict[str, Any]] = field(default_factory=list)
    #: called when a request arrives, before answering (e.g. to look at the target)
    on_request: Callable[[], Any] | None = None
    seen: list[Any] = field(default_factory=list)


