"""Kill ``adf`` with SIGKILL at random points while it loads incrementally, and check the data.

Shared by ``tests/state/test_kill_loop.py`` (20 kills) and ``benchmarks/incremental_kills.py``
(more). Each round adds rows to a SQLite source table, starts ``adf run -f flow.toml`` (an
incremental ``db`` source into an upsert ``db`` destination), kills it after a random delay,
and checks that the saved state never runs ahead of the data: every source row at or below
the saved cursor is in the destination. A last run without a kill must leave every source row
in the destination exactly once.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ADF = str(Path(sys.executable).with_name("adf"))

FLOW = """\
name = "{name}"
pipeline = "src=db | out=db"
[components.src]
url = "sqlite:///{source}"
table = "events"
incremental = "seq"
lag = 5
key = ["id"]
batch_size = 50
[components.out]
url = "{target}"
table = "{table}"
mode = "{mode}"
{key}batch_size = 50
{settings}"""


@dataclass
class Outcome:
    rounds: int = 0
    killed: int = 0  # killed while running (the others had finished before the kill)
    finished: int = 0
    states_checked: int = 0
    expected: int = 0
    found: int = 0
    distinct: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.found - self.distinct


def add_rows(source: Path, start: int, count: int) -> int:
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, seq INTEGER, "
                     "payload TEXT)")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?)",
                         [(i, i, f"row {i} " + "x" * 40) for i in range(start, start + count)])
    return start + count


@dataclass
class Setup:
    """Where the loop loads into and keeps its state."""

    workdir: Path
    name: str = "kills"
    target: str = ""  # a SQLAlchemy URL (default: target.db in workdir)
    table: str = "events_copy"
    mode: str = "upsert"
    state: str | None = None  # the store's URL (default: .adf/state.db in workdir)

    def __post_init__(self) -> None:
        self.target = self.target or f"sqlite:///{self.workdir / 'target.db'}"

    @property
    def store(self) -> str:
        return self.state or f"sqlite:///{self.workdir / '.adf' / 'state.db'}"


def saved_cursor(setup: Setup) -> int | None:
    if setup.state is None and not (setup.workdir / ".adf" / "state.db").exists():
        return None
    from adf_core.data.state_store import StateStore

    store = StateStore(setup.store)
    try:
        value = store.load(setup.name).get("src", {}).get("cursor")
    finally:
        store.close()
    return None if value is None else int(value)


def target_ids(setup: Setup) -> list[int]:
    import sqlalchemy as sa

    engine = sa.create_engine(setup.target)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(setup.table):
                return []
            return [r[0] for r in conn.execute(sa.text(f"SELECT id FROM {setup.table}"))]
    finally:
        engine.dispose()


def run_kill_loop(workdir: Path, rounds: int, *, rows_per_round: int = 400,
                  max_delay: float = 1.6, seed: int | None = None,
                  setup: Setup | None = None) -> Outcome:
    rng = random.Random(seed)
    setup = setup or Setup(workdir)
    source = workdir / "source.db"
    (workdir / "flow.toml").write_text(FLOW.format(
        name=setup.name, source=source, target=setup.target, table=setup.table,
        mode=setup.mode, key='key = ["id"]\n' if setup.mode == "upsert" else "",
        settings=f'[settings]\nstate = "{setup.state}"\n' if setup.state else ""))
    outcome = Outcome()
    next_id = add_rows(source, 1, rows_per_round)
    for _ in range(rounds):
        next_id = add_rows(source, next_id, rows_per_round)
        process = subprocess.Popen([ADF, "run", "-f", "flow.toml", "-q"], cwd=workdir,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.05, max_delay))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        _, err = process.communicate()
        outcome.rounds += 1
        if process.returncode == -signal.SIGKILL:
            outcome.killed += 1
        elif process.returncode == 0:
            outcome.finished += 1
        else:
            outcome.errors.append(f"exit {process.returncode}: {err[-500:]}")
        check_state_behind_data(setup, source, outcome)
    final = subprocess.run([ADF, "run", "-f", "flow.toml", "-q"], cwd=workdir,
                           capture_output=True, text=True, timeout=300)
    if final.returncode != 0:
        outcome.errors.append(f"last run: exit {final.returncode}: {final.stderr[-500:]}")
    check_state_behind_data(setup, source, outcome)
    ids = target_ids(setup)
    outcome.expected = next_id - 1
    outcome.found = len(ids)
    outcome.distinct = len(set(ids))
    if set(ids) != set(range(1, next_id)):
        outcome.errors.append("the destination does not hold every source row")
    return outcome


def check_state_behind_data(setup: Setup, source: Path, outcome: Outcome) -> None:
    """The saved cursor never claims a row the destination does not hold."""
    cursor = saved_cursor(setup)
    outcome.states_checked += 1
    if cursor is None:
        return
    loaded = set(target_ids(setup))
    with sqlite3.connect(source) as conn:
        claimed = {r[0] for r in conn.execute("SELECT id FROM events WHERE seq <= ?", (cursor,))}
    missing = claimed - loaded
    if missing:
        outcome.errors.append(f"the state (cursor {cursor}) is ahead of the data: "
                              f"{len(missing)} rows at or below it are not in the destination")
