"""``flow.run()`` from synchronous code: scripts, and inside a running loop (a notebook)."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from adf_core import ComponentError, DataFlow, step
from adf_core.engine.loops import eager_start_enabled

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def numbers() -> dict:
    await asyncio.sleep(0)
    return {"numbers": [1, 2, 3]}


def total(numbers: list[int]) -> dict:  # a sync component: a worker thread
    return {"total": sum(numbers)}


def test_run_works_inside_a_running_event_loop() -> None:
    """What a notebook cell does: the loop is running, and the cell calls flow.run()."""
    flow = DataFlow((numbers, total))

    async def cell() -> tuple[int, int]:
        loop_thread = threading.get_ident()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.01)
        before = ticks
        result = flow.run()  # blocks this loop, as a sync call in a notebook cell does
        after = ticks
        ticking.cancel()
        assert threading.get_ident() == loop_thread
        return result["total"], after - before

    value, ticks_during_run = asyncio.run(cell())
    assert value == 6
    assert ticks_during_run == 0  # the flow did not run on the blocked caller's loop


def test_a_failure_inside_a_running_loop_raises_the_component_error() -> None:
    def broken(numbers: list[int]) -> None:
        raise ValueError("bad numbers")

    flow = DataFlow((numbers, broken))

    async def cell() -> None:
        with pytest.raises(ComponentError) as caught:
            flow.run()
        assert caught.value.component == "broken"
        assert isinstance(caught.value.__cause__, ValueError)

    asyncio.run(cell())


def test_the_callers_context_variables_reach_the_flow() -> None:
    async def who() -> dict:
        return {"who": request_id.get()}

    flow = DataFlow((who,))

    async def cell() -> str:
        request_id.set("req-7")
        return flow.run()["who"]

    assert asyncio.run(cell()) == "req-7"
    assert flow.run()["who"] == "-"


def test_eager_start_matches_the_interpreter() -> None:
    assert eager_start_enabled() == (sys.version_info >= (3, 12))


@pytest.mark.parametrize("eager", ["1", "0"])
def test_flows_give_the_same_results_with_and_without_eager_start(eager, monkeypatch) -> None:
    monkeypatch.setenv("ADF_EAGER_START", eager)
    order: list[str] = []

    async def quick(name: str) -> dict:
        order.append(name)
        return {name: len(name)}

    def rows():
        yield from range(5)

    async def consume(rows) -> dict:
        return {"sum": sum([r async for r in rows])}

    flow = DataFlow(((step(quick, name="a", options={"name": "aa"}),
                      step(quick, name="b", options={"name": "bbb"}), rows), consume))
    result = flow.run()
    assert (result["aa"], result["bbb"], result["sum"]) == (2, 3, 10)
    assert sorted(order) == ["aa", "bbb"]


@pytest.mark.parametrize("handler", ["notebook", "asyncio.run"])
def test_ctrl_c_while_a_loop_waits_cancels_the_flow(tmp_path, handler) -> None:
    """A real SIGINT to a process whose loop is blocked in flow.run(): the flow is cancelled
    (its finally blocks run). A notebook kernel raises KeyboardInterrupt in the cell;
    asyncio.run's own handler cancels the calling task instead, and that cancels the flow."""
    marker = tmp_path / "cancelled"
    script = tmp_path / "cell.py"
    install = "signal.signal(signal.SIGINT, signal.default_int_handler)" if handler == \
        "notebook" else "pass"
    script.write_text(textwrap.dedent(f"""
        import asyncio, os, signal, sys
        from adf_core import DataFlow

        # Ctrl-C as in a terminal, even when the test runner was started with SIGINT ignored
        # (a background job of a non-interactive shell passes SIG_IGN on to its children).
        signal.signal(signal.SIGINT, signal.default_int_handler)

        async def forever():
            try:
                print("started", flush=True)
                await asyncio.sleep(60)
            finally:
                open({str(marker)!r}, "w").write("yes")

        async def cell():
            {install}
            try:
                DataFlow((forever,)).run()
            except (KeyboardInterrupt, asyncio.CancelledError):
                # The flow has ended (its finally ran) before the interrupt reaches the cell.
                print("interrupted; flow ended:", os.path.exists({str(marker)!r}), flush=True)
                sys.exit(3)

        asyncio.run(cell())
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    proc.send_signal(__import__("signal").SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 3, out
    assert "interrupted; flow ended: True" in out
