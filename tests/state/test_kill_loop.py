"""SIGKILL at random points while loading incrementally: nothing lost, nothing twice, and the
saved state never ahead of the data (see ``kill_loop.py``; more kills in
``benchmarks/incremental_kills.py``)."""

from __future__ import annotations

from pathlib import Path

from kill_loop import run_kill_loop


def test_twenty_random_kills_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    outcome = run_kill_loop(tmp_path, rounds=20, seed=13)
    assert outcome.errors == []
    assert outcome.killed >= 10, f"too few runs were killed while loading: {outcome}"
    assert outcome.found == outcome.expected == outcome.distinct
    assert outcome.duplicates == 0
    assert outcome.states_checked == 21
