"""Components for the executor tests, at module level so that spawned processes and Dask
workers import them by reference (this folder is on their ``sys.path``/``PYTHONPATH``).

Processes coordinate through files in a ``scratch`` directory: no shared memory crosses them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

WAIT_LIMIT = 30.0


def where() -> int:
    """The process id this component ran in."""
    return os.getpid()


async def where_async() -> int:
    return os.getpid()


def add(x: int, y: int) -> dict[str, int]:
    return {"total": x + y}


def double(total: int, context: Any, upstream: Any) -> dict[str, Any]:
    return {"doubled": total * 2, "seen": sorted(context), "from": sorted(upstream)}


def keyed(key: str, workers: int = 1, priority: str = "p") -> str:
    """Parameters named like ``Client.submit`` keywords must still reach the component."""
    return f"{key}/{workers}/{priority}"


def fail(message: str = "broken on purpose") -> None:
    raise ValueError(message)


def burn(rounds: int) -> int:
    """Pure-Python CPU work: it holds the GIL the whole time."""
    total = 0
    for i in range(rounds):
        total += i * i % 7
    return total


def burn_timed(rounds: int) -> tuple[float, float, float]:
    """``burn``, reporting (wall start, wall end, CPU seconds used); the wall clock is the
    same for every process of this machine."""
    started, cpu = time.time(), time.thread_time()
    burn(rounds)
    return started, time.time(), time.thread_time() - cpu


def flaky(scratch: str, failures: int = 2) -> int:
    """Fail ``failures`` times, then succeed; the attempt count lives in files."""
    attempt = len(list(Path(scratch).glob("attempt-*"))) + 1
    Path(scratch, f"attempt-{attempt}").write_text(str(os.getpid()))
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


def _wait_for(path: Path) -> bool:
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.02)
    return False


def hang(scratch: str) -> str:
    """Record the process id, then run until the file ``stop`` appears (or 30 s)."""
    Path(scratch, f"pid-{os.getpid()}").write_text("")
    return "released" if _wait_for(Path(scratch, "stop")) else "gave up"


def hang_first(scratch: str) -> int:
    """The first attempt hangs (see ``hang``); the second returns its process id."""
    if not Path(scratch, "first").exists():
        Path(scratch, "first").write_text(str(os.getpid()))
        _wait_for(Path(scratch, "stop"))
        return -1
    Path(scratch, "second").write_text(str(os.getpid()))
    return os.getpid()


def wait_for_second(scratch: str) -> int:
    """Run until ``hang_first``'s second attempt has happened; return the process id."""
    if not _wait_for(Path(scratch, "second")):
        raise TimeoutError("the second attempt never ran")
    return os.getpid()


def rendezvous(scratch: str, name: str, parties: int = 2) -> int:
    """Return only once ``parties`` members are running at the same time."""
    Path(scratch, f"here-{name}").write_text(str(os.getpid()))
    deadline = time.monotonic() + WAIT_LIMIT
    while len(list(Path(scratch).glob("here-*"))) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: the other members never ran at the same time")
        time.sleep(0.02)
    return os.getpid()


def make_lock() -> dict[str, Any]:
    import threading

    return {"lock": threading.Lock()}


def use_lock(lock: Any) -> str:
    return type(lock).__name__


def numbers(n: int = 3) -> Any:
    yield from range(n)


def commits(where: int) -> int:
    from adf_core import commit_group

    with commit_group("a file") as ready:
        ready()
    return where


# --- used by the tests themselves --------------------------------------------------------

def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_for_file(scratch: str, pattern: str) -> Path:
    """The first file in ``scratch`` matching ``pattern``, once it exists."""
    import asyncio

    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        found = sorted(Path(scratch).glob(pattern))
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {pattern} in {scratch} after {WAIT_LIMIT} s")


def scheduler_tasks(dask_scheduler: Any) -> int:
    """Run on a Dask scheduler: how many tasks it holds."""
    return len(dask_scheduler.tasks)


def scheduler_actions(topic: str, dask_scheduler: Any = None) -> list[str]:
    """Run on a Dask scheduler: the actions it logged for a client."""
    return [event.get("action", "") for _, event in dask_scheduler.get_events(topic)
            if isinstance(event, dict)]


def calibrate(seconds: float) -> int:
    """Rounds of ``burn`` that take about ``seconds`` here (best of three samples)."""
    rounds = 500_000
    fastest = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        burn(rounds)
        fastest = min(fastest, time.perf_counter() - started)
    return max(1, int(rounds * seconds / fastest))
