"""SIGINT, SIGTERM and SIGHUP during ``adf run``: cancel the run, then exit 128 + the signal.

The first signal cancels the run as a failure would: running components are cancelled, every
open commit rolls back (a destination waiting at its commit gate gives up, a transaction is
rolled back, a temporary file is removed), after-run components report the run as failed, and
``adf`` exits 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP) with one line saying so. In a
continuous run (a broker source) SIGINT and SIGTERM drain instead (``adf_core.cli.drain``:
commit and acknowledge what is in flight, exit 0); a signal after that cancels. A second
signal exits at once: the temporary files of this process are removed, and what was not
committed stays uncommitted (a database rolls back the transaction of a connection that
goes away).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any, TypeVar

from adf_core.cli.drain import try_drain

T = TypeVar("T")

HANDLED = tuple(s for s in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM",
                                                                        "SIGHUP"))
                if s is not None)

DRAINING = tuple(s for s in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM"))
                 if s is not None)


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130, 143, 129)."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupts:
    """Runs a coroutine with the three signals turned into a cancellation of it (a
    continuous run ``run_id`` drains on SIGTERM/SIGINT instead: ``adf_core.cli.drain``)."""

    def __init__(self, run_id: str | None = None) -> None:
        self.received: int | None = None
        self.run_id = run_id
        #: the signal that drained the run (it then ends as a success)
        self.drained: int | None = None

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """``asyncio.run(make())``, cancelled by the first signal; the second exits at once."""
        return asyncio.run(self._main(make))

    async def _main(self, make: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def handler(signum: int, frame: FrameType | None) -> None:
            if (self.drained is None and self.received is None and signum in DRAINING
                    and try_drain(self.run_id)):
                self.drained = signum
                return
            if self.received is None:
                self.received = signum
                loop.call_soon_threadsafe(task.cancel, f"received {signal_name(signum)}")
            else:
                exit_at_once(signum)

        previous: dict[int, Any] = {}
        try:
            for signum in HANDLED:
                previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread: leave the signals alone
            pass
        try:
            return await make()
        finally:
            for signum, was in previous.items():
                signal.signal(signum, was)


def exit_at_once(signum: int) -> None:
    """A second signal: remove this process's temporary files and leave now."""
    from adf_core.data.tempfiles import remove_all

    remove_all()
    name = signal_name(signum)
    try:
        sys.stderr.write(f"adf: {name} again: exiting at once (temporary files removed; "
                         "nothing more was committed)\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except Exception:  # a closed stream must not keep us from exiting
        pass
    os._exit(exit_code(signum))
