"""The reserved parameter ``state``: per (pipeline, alias), saved only when the run succeeded,
in one transaction, in the store a run finds (``state=``, ``ADF_STATE``, the default)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adf_core import DataFlow, FlowDefinitionError, component, step
from adf_core.data.state_store import StateStore
from adf_core.errors import ComponentError, FlowError


def numbers(state: dict[str, Any]) -> Iterator[list[dict[str, int]]]:
    """A source that continues where the last successful run stopped."""
    start = state.get("next", 0)
    for first in range(start, start + 6, 3):
        state["next"] = first + 3
        yield [{"n": n} for n in range(first, first + 3)]


def collect(upstream: dict[str, Any]) -> dict[str, list[int]]:
    (stream,) = upstream.values()
    return {"got": [r["n"] for batch in stream for r in batch]}


def test_state_continues_across_runs_and_is_kept_per_alias(workdir: Path) -> None:
    flow = DataFlow((numbers, collect), name="count")
    assert flow.run()["got"] == [0, 1, 2, 3, 4, 5]
    assert DataFlow((numbers, collect), name="count").run()["got"] == [6, 7, 8, 9, 10, 11]
    other = DataFlow((step(numbers, name="b"), collect), name="count")
    assert other.run()["got"] == [0, 1, 2, 3, 4, 5]  # another alias, another state
    rows = StateStore("sqlite:///.adf/state.db").rows("count")
    assert {r.alias: r.value for r in rows} == {"b": {"next": 6}, "numbers": {"next": 12}}
    assert (workdir / ".adf" / "state.db").exists()


def test_a_failed_run_leaves_every_state_as_it_was(workdir: Path) -> None:
    def fails_later(got: list[int]) -> None:
        raise RuntimeError("the destination broke")

    DataFlow((numbers, collect), name="p").run()
    with pytest.raises(ComponentError):
        DataFlow((numbers, collect, fails_later), name="p").run()
    assert DataFlow((numbers, collect), name="p").run()["got"] == [6, 7, 8, 9, 10, 11]


def test_a_cancelled_run_saves_nothing(workdir: Path) -> None:
    async def slow(state: dict[str, Any]) -> None:
        state["touched"] = True
        await asyncio.sleep(30)

    async def cancel_it() -> None:
        task = asyncio.ensure_future(DataFlow((slow,), name="c")())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    assert StateStore("sqlite:///.adf/state.db").rows("c") == []


def test_all_aliases_are_saved_together_or_not_at_all(workdir: Path) -> None:
    def good(state: dict[str, Any]) -> None:
        state["v"] = 1

    def not_json(state: dict[str, Any]) -> None:
        state["v"] = object()

    with pytest.raises(FlowError, match=r"not_json.*not JSON"):
        DataFlow(({good, not_json},), name="j").run()
    assert StateStore("sqlite:///.adf/state.db").rows("j") == []


def test_a_component_taking_state_needs_a_named_flow(workdir: Path) -> None:
    with pytest.raises(FlowDefinitionError, match=r"'numbers' keeps state.*DataFlow\(name="):
        DataFlow((numbers, collect))
    with pytest.raises(FlowDefinitionError, match="name must be a non-empty string"):
        DataFlow((collect,), name=" ")


def test_state_when_makes_state_depend_on_an_option(workdir: Path) -> None:
    @component(state_when="remember")
    def source(remember: bool = False, state: dict[str, Any] | None = None) -> dict[str, Any]:
        if state is not None:
            state["runs"] = state.get("runs", 0) + 1
        return {"seen": None if state is None else state["runs"]}

    assert DataFlow((source,)).run()["seen"] is None  # no option, no state, no name needed
    with pytest.raises(FlowDefinitionError, match="keeps state"):
        DataFlow((step(source, options={"remember": True}),))
    remembering = DataFlow((step(source, options={"remember": True}),), name="s")
    assert [remembering.run()["seen"] for _ in range(3)] == [1, 2, 3]


def test_the_store_comes_from_state_then_adf_state_then_the_default(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = f"sqlite:///{workdir / 'explicit.db'}"
    DataFlow((numbers, collect), name="w", state=explicit).run()
    assert StateStore(explicit).load("w") == {"numbers": {"next": 6}}
    from_env = f"sqlite:///{workdir / 'env.db'}"
    monkeypatch.setenv("ADF_STATE", from_env)
    DataFlow((numbers, collect), name="w").run()
    assert StateStore(from_env).load("w") == {"numbers": {"next": 6}}
    assert not (workdir / ".adf").exists()


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_a_database_server_store(server: str, request: pytest.FixtureRequest, workdir: Path,
                                 unique: str) -> None:
    url = str(request.getfixturevalue(f"{server}_url"))
    store = StateStore(url)
    try:
        for expected in ([0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]):
            flow = DataFlow((numbers, collect), name=unique, state=url)
            assert flow.run()["got"] == expected
        assert store.load(unique) == {"numbers": {"next": 12}}
        assert store.reset(unique) == 1
        assert store.load(unique) == {}
    finally:
        store.reset(unique)
        store.close()


def test_a_large_state_fits_every_store(workdir: Path, request: pytest.FixtureRequest,
                                        unique: str) -> None:
    """A lag window keyed by id can hold many keys: far beyond MySQL's 64 KiB TEXT."""
    big = {"keys": [f"order-{i:08d}" for i in range(20_000)]}  # about 320 KB of JSON
    urls = [f"sqlite:///{workdir / 'big.db'}"] + [
        str(request.getfixturevalue(f"{name}_url")) for name in ("postgresql", "mariadb")]
    for url in urls:
        store = StateStore(url)
        try:
            store.save(unique, {"src": big}, "run-1")
            assert store.load(unique) == {"src": big}, url
        finally:
            store.reset(unique)
            store.close()


def test_an_unreachable_store_fails_the_run_before_it_reads(workdir: Path) -> None:
    read: list[int] = []

    def source(state: dict[str, Any]) -> None:
        read.append(1)

    bad = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    with pytest.raises(Exception, match="state store postgresql"):
        DataFlow((source,), name="u", state=bad).run()
    assert read == []
