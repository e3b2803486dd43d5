"""A process SIGKILLed right after its destination committed and before the run saved the
state: the state in the destination's transaction makes an `append` exactly once; a store
elsewhere makes it at least once (the rows are appended again), as the README's table says."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

SCRIPT = """\
import os, signal, sys
from adf_core import DataFlow
from adf_core.engine.saved_state import RunStates

if sys.argv[1] == "kill":  # die where a crash hurts most: data committed, state not saved
    RunStates.save = lambda self: os.kill(os.getpid(), signal.SIGKILL)
url, table, store, name = sys.argv[2:]
DataFlow.parse("src=db | out=db", name=name, state=store, options={
    "src": {"url": url, "table": table + "_src", "incremental": "id"},
    "out": {"url": url, "table": table + "_dst", "mode": "append"}}).run()
"""


def load(tmp_path: Path, how: str, url: str, table: str, store: str, name: str) -> int:
    script = tmp_path / "load.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), how, url, table, store, name],
                          cwd=tmp_path, capture_output=True, timeout=120).returncode


def scenario(tmp_path: Path, url: str, store: str, table: str) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table}_src (id INTEGER PRIMARY KEY)"))
            conn.execute(sa.text(f"INSERT INTO {table}_src VALUES (1), (2), (3)"))
        assert load(tmp_path, "kill", url, table, store, table) == -signal.SIGKILL
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {table}_src VALUES (4)"))
        assert load(tmp_path, "run", url, table, store, table) == 0
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(f"SELECT id FROM {table}_dst ORDER BY id"))]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}_src"))
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}_dst"))
            if url == store:
                conn.execute(sa.text("DELETE FROM adf_state WHERE pipeline = :p"), {"p": table})
        engine.dispose()


def test_state_in_the_destination_transaction_survives_the_kill(
        tmp_path: Path, postgresql_url: str, unique: str) -> None:
    assert scenario(tmp_path, postgresql_url, postgresql_url, unique) == [1, 2, 3, 4]


def test_one_sqlite_file_for_data_and_state_is_exactly_once_too(tmp_path: Path,
                                                                unique: str) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    assert scenario(tmp_path, url, url, unique) == [1, 2, 3, 4]


def test_a_store_elsewhere_is_at_least_once(tmp_path: Path, postgresql_url: str,
                                            unique: str) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    assert scenario(tmp_path, postgresql_url, store, unique) == [1, 1, 2, 2, 3, 3, 4]
