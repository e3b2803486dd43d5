"""SIGKILL at random points while loading incrementally: nothing lost, nothing twice, and the
saved state never ahead of the data (see ``kill_loop.py``; more kills in
``benchmarks/incremental_kills.py``)."""

from __future__ import annotations

from pathlib import Path

from kill_loop import Setup, run_kill_loop


def test_twenty_random_kills_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    outcome = run_kill_loop(tmp_path, rounds=20, seed=13)
    assert outcome.errors == []
    assert outcome.killed >= 5, f"too few runs were killed while loading: {outcome}"
    assert outcome.found == outcome.expected == outcome.distinct
    assert outcome.duplicates == 0
    assert outcome.states_checked == 21


def test_kills_with_the_state_in_the_destination_transaction_append_exactly_once(
        tmp_path: Path, postgresql_url: str, unique: str) -> None:
    """An `append` table without a key: only the state committing with the data keeps it
    free of duplicates."""
    import sqlalchemy as sa

    from adf_core.data.state_store import StateStore

    setup = Setup(tmp_path, name=unique, target=postgresql_url, table=unique, mode="append",
                  state=postgresql_url)
    try:
        outcome = run_kill_loop(tmp_path, rounds=10, seed=14, setup=setup)
        assert outcome.errors == []
        assert outcome.killed >= 3, f"too few runs were killed while loading: {outcome}"
        assert outcome.found == outcome.expected == outcome.distinct
    finally:
        store = StateStore(postgresql_url)
        store.reset(unique)
        store.close()
        engine = sa.create_engine(postgresql_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {unique}"))
        engine.dispose()
