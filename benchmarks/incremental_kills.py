"""More random SIGKILLs than the test suite's 20, while `adf` loads incrementally.

    python benchmarks/incremental_kills.py [--rounds 60] [--pg-rounds 30]

Two loops (see tests/state/kill_loop.py): an upsert into SQLite with the state in its own
store (at-least-once reads, exactly once in the table), and, when the local PostgreSQL
answers, an `append` table without a key whose state commits in the destination's
transaction (exactly once). After each kill the saved cursor is checked against the data; a
final run without a kill must leave every source row in the destination exactly once.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "state"))

from _common import table  # noqa: E402
from kill_loop import Outcome, Setup, run_kill_loop  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return False
    return True


def row(label: str, outcome: Outcome) -> list[str]:
    return [label, str(outcome.rounds), str(outcome.killed), str(outcome.finished),
            str(outcome.states_checked), f"{outcome.expected:,}", f"{outcome.found:,}",
            str(outcome.duplicates), "none" if not outcome.errors else "; ".join(outcome.errors)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--pg-rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "sqlite"
        work.mkdir()
        rows.append(row("SQLite upsert, separate store",
                        run_kill_loop(work, args.rounds, seed=args.seed)))
        if postgres_answers() and args.pg_rounds:
            import sqlalchemy as sa

            from adf_core.data.state_store import StateStore

            name = f"kills_{uuid.uuid4().hex[:8]}"
            work = Path(tmp) / "pg"
            work.mkdir()
            setup = Setup(work, name=name, target=PG, table=name, mode="append", state=PG)
            try:
                rows.append(row("PostgreSQL append, state in its transaction",
                                run_kill_loop(work, args.pg_rounds, seed=args.seed,
                                              setup=setup)))
            finally:
                store = StateStore(PG)
                store.reset(name)
                store.close()
                engine = sa.create_engine(PG)
                with engine.begin() as conn:
                    conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
                engine.dispose()
    print("adf SIGKILLed at random points while loading incrementally")
    print(table(["LOOP", "RUNS", "KILLED", "FINISHED", "STATES CHECKED", "ROWS EXPECTED",
                 "ROWS FOUND", "DUPLICATES", "ERRORS"], rows))


if __name__ == "__main__":
    main()
