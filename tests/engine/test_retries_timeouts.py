"""Retries with backoff and timeouts, flow-wide and per component (DESIGN section 4)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from adf_core import ComponentError, DataFlow, FlowDefinitionError, step


class Flaky:
    """Fails ``failures`` times, then returns; counts calls (thread-safe)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.lock = threading.Lock()

    def attempt(self) -> dict:
        with self.lock:
            self.calls += 1
            call = self.calls
        if call <= self.failures:
            raise ConnectionError(f"attempt {call} failed")
        return {"succeeded_on": call}


def sync_flaky(failures: int) -> tuple[Flaky, object]:
    state = Flaky(failures)

    def flaky() -> dict:
        return state.attempt()

    return state, flaky


def async_flaky(failures: int) -> tuple[Flaky, object]:
    state = Flaky(failures)

    async def flaky() -> dict:
        await asyncio.sleep(0)
        return state.attempt()

    return state, flaky


@pytest.mark.parametrize("make", [sync_flaky, async_flaky], ids=["sync", "async"])
def test_a_flaky_component_succeeds_on_attempt_three(make):
    state, flaky = make(2)
    result = DataFlow(flaky, retries=2, retry_delay=0.01).run()
    assert result["succeeded_on"] == 3 and state.calls == 3


@pytest.mark.parametrize("make", [sync_flaky, async_flaky], ids=["sync", "async"])
def test_exhausted_retries_report_the_attempt_count_and_the_last_error(make):
    state, flaky = make(10)
    with pytest.raises(ComponentError) as caught:
        DataFlow(flaky, retries=2, retry_delay=0.01).run()
    error = caught.value
    assert error.attempts == 3 and state.calls == 3
    assert isinstance(error.__cause__, ConnectionError)
    assert str(error.__cause__) == "attempt 3 failed"
    assert "after 3 attempts" in str(error)


def test_no_retries_by_default():
    state, flaky = sync_flaky(1)
    with pytest.raises(ComponentError) as caught:
        DataFlow(flaky).run()
    assert caught.value.attempts == 1 and state.calls == 1


def test_a_step_overrides_the_flow_retries_both_ways():
    fewer_state, fewer = sync_flaky(1)
    more_state, more = async_flaky(3)
    flow = DataFlow(
        (step(fewer, name="fewer", retries=0), step(more, name="more", retries=3)),
        retries=5, retry_delay=0.01)
    with pytest.raises(ComponentError) as caught:
        flow.run()
    assert caught.value.component == "fewer" and fewer_state.calls == 1
    assert more_state.calls == 0  # a later stage never started

    flow = DataFlow(step(more, name="more", retries=3), retries=0, retry_delay=0.01)
    assert flow.run()["succeeded_on"] == 4


def test_backoff_doubles_with_jitter(events):
    """Read the delays from the component.retrying events: each in [ceiling/2, ceiling]."""
    _state, flaky = sync_flaky(4)
    DataFlow(flaky, retries=4, retry_delay=0.01).run()
    delays = [e["delay_s"] for e in events if e["event"] == "component.retrying"]
    assert [e["attempt"] for e in events if e["event"] == "component.retrying"] == [1, 2, 3, 4]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = 0.01 * 2 ** (attempt - 1)
        assert ceiling / 2 - 1e-3 <= delay <= ceiling + 1e-3, (attempt, delay)


def test_retries_really_wait_between_attempts():
    stamps: list[float] = []

    async def flaky() -> None:
        stamps.append(time.perf_counter())
        if len(stamps) < 3:
            raise ConnectionError("again")

    DataFlow(flaky, retries=2, retry_delay=0.04).run()
    first_gap, second_gap = stamps[1] - stamps[0], stamps[2] - stamps[1]
    # the first delay is drawn from [0.02, 0.04] and the second from [0.04, 0.08]
    assert first_gap >= 0.02 - 0.005 and second_gap >= 0.04 - 0.005


def test_a_retried_component_sees_the_same_arguments():
    calls: list[tuple] = []

    def flaky(x, upstream):
        calls.append((x, dict(upstream)))
        if len(calls) < 2:
            raise ConnectionError("again")

    def first() -> int:
        return 1

    DataFlow((first, flaky), retries=1, retry_delay=0.01).run({"x": "p"})
    assert calls == [("p", {"first": 1}), ("p", {"first": 1})]


# ------------------------------------------------------------------------------- timeouts


async def sleeper(seconds: float) -> dict:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


def test_a_flow_wide_timeout_stops_a_slow_component():
    with pytest.raises(ComponentError) as caught:
        DataFlow(sleeper, timeout=0.05).run({"seconds": 5})
    error = caught.value
    assert isinstance(error.__cause__, TimeoutError)
    assert "timed out after 0.05 s" in str(error)


def test_a_step_timeout_overrides_the_flow_timeout_both_ways():
    patient = step(sleeper, name="patient", timeout=5)
    result = DataFlow(patient, timeout=0.01).run({"seconds": 0.1})
    assert result["slept"] == 0.1

    impatient = step(sleeper, name="impatient", timeout=0.02)
    with pytest.raises(ComponentError) as caught:
        DataFlow(impatient, timeout=5).run({"seconds": 5})
    assert caught.value.component == "impatient"
    assert isinstance(caught.value.__cause__, TimeoutError)


def test_the_timeout_applies_per_attempt_and_attempts_are_counted():
    attempts = []

    async def slow_then_fast() -> dict:
        attempts.append(1)
        await asyncio.sleep(5 if len(attempts) < 3 else 0)
        return {"attempts": len(attempts)}

    result = DataFlow(slow_then_fast, timeout=0.03, retries=2, retry_delay=0.01).run()
    assert result["attempts"] == 3

    attempts.clear()
    with pytest.raises(ComponentError) as caught:
        DataFlow(slow_then_fast, timeout=0.03, retries=1, retry_delay=0.01).run()
    assert caught.value.attempts == 2 and isinstance(caught.value.__cause__, TimeoutError)


def test_a_sync_component_that_times_out_is_a_timeout_error():
    release = threading.Event()

    def blocking() -> None:
        release.wait(0.3)

    with pytest.raises(ComponentError) as caught:
        DataFlow(blocking, timeout=0.02).run()
    assert isinstance(caught.value.__cause__, TimeoutError)


def test_a_component_raising_its_own_timeout_error_keeps_it_as_the_cause():
    async def fetch():
        raise TimeoutError("read timed out from upstream server")

    with pytest.raises(ComponentError) as caught:
        DataFlow(fetch, timeout=30).run()
    assert str(caught.value.__cause__) == "read timed out from upstream server"


def test_without_a_timeout_a_component_timeout_error_is_kept():
    async def fetch():
        raise TimeoutError("read timed out from upstream server")

    with pytest.raises(ComponentError) as caught:
        DataFlow(fetch).run()
    assert str(caught.value.__cause__) == "read timed out from upstream server"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"retries": -1}, "retries"), ({"retries": 1.5}, "retries"), ({"timeout": 0}, "timeout"),
     ({"timeout": "5"}, "timeout"), ({"max_concurrency": 0}, "max_concurrency"),
     ({"max_threads": -2}, "max_threads")],
)
def test_bad_flow_settings_are_definition_errors(kwargs, needle):
    with pytest.raises(FlowDefinitionError, match=needle):
        DataFlow(sleeper, **kwargs)


def test_bad_step_settings_name_the_component():
    with pytest.raises(FlowDefinitionError) as caught:
        DataFlow((sleeper, step(sleeper, name="late", timeout=-1)))
    assert "'late'" in str(caught.value) and "stage 2" in str(caught.value)


def test_cancelling_the_flow_during_a_retry_backoff_stops_retrying():
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        raise ConnectionError("down")

    async def main() -> None:
        task = asyncio.create_task(DataFlow(flaky, retries=5, retry_delay=10)())
        while not attempts:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)  # now in the first backoff sleep (5 to 10 s)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    began = time.perf_counter()
    asyncio.run(main())
    assert attempts == [1]
    assert time.perf_counter() - began < 5  # did not sit out the backoff


def test_a_sibling_failure_stops_a_component_waiting_to_retry():
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        raise ConnectionError("down")

    async def broken() -> None:
        while not attempts:
            await asyncio.sleep(0.005)
        raise ValueError("fatal")

    with pytest.raises(ComponentError) as caught:
        DataFlow(((step(flaky, retries=5), broken),), retry_delay=10).run()
    assert caught.value.component == "broken"
    assert attempts == [1]
