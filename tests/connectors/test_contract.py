"""Every built-in component passes the standard component contract (adf_core.testing).

The same classes a plugin author writes: the component, its kind, and the data each check
needs. A check that cannot apply to a component skips with its reason (stdout and notify
accept any record, so they have no bad record).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adf_core.testing import ComponentContract
from adf_plugins import db, files, http, notify, stdout, transforms

REGIONS = (
    {"id": 1, "region": "eu", "amount": 12.5},
    {"id": 2, "region": "us", "amount": 7.0},
    {"id": 3, "region": "eu", "amount": 3.25},
)


class TestFileSource(ComponentContract):
    plugin = files
    component = "file"
    kind = "source"
    options = {"path": "{tmp_path}/in.jsonl"}
    empty_options = {"path": "{tmp_path}/empty.jsonl"}
    bad_options = {"path": "{tmp_path}/bad.jsonl"}
    bad_record_number = 3

    def prepare(self, tmp_path: Path, case: str) -> None:
        rows = [json.dumps(r) for r in REGIONS]
        (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
        (tmp_path / "empty.jsonl").write_text("")
        (tmp_path / "bad.jsonl").write_text("\n".join([*rows[:2], "{not json", rows[2]]) + "\n")


class TestHttpSource(ComponentContract):
    plugin = http
    component = "http"
    kind = "source"
    bad_record_number = 2  # the "bad" page's second item is not an object

    @pytest.fixture(autouse=True)
    def _server(self, http_server: Any) -> None:
        self.urls = {
            "sample": http_server.route("/rows", (200, list(REGIONS))),
            "empty": http_server.route("/none", (200, [])),
            "bad": http_server.route("/bad", (200, [REGIONS[0], "not an object"])),
        }

    def component_options(self, tmp_path: Path, case: str) -> dict[str, Any]:
        return {"url": self.urls[case]}


class TestFileDestination(ComponentContract):
    plugin = files
    component = "file"
    kind = "destination"
    options = {"path": "{tmp_path}/out.csv"}
    bad_record = {"id": 4, "surprise": "a field the csv header does not have"}


class TestDbSource(ComponentContract):
    plugin = db
    component = "db"
    kind = "source"
    options = {"url": "sqlite:///{tmp_path}/in.db", "table": "orders"}
    empty_options = {"table": "empty"}

    def prepare(self, tmp_path: Path, case: str) -> None:
        with sqlite3.connect(tmp_path / "in.db") as conn:
            conn.execute("create table if not exists orders (id int, region text, amount real)")
            conn.execute("create table if not exists empty (id int)")
            conn.execute("delete from orders")
            conn.executemany("insert into orders values (:id, :region, :amount)", REGIONS)


class TestDbDestination(ComponentContract):
    plugin = db
    component = "db"
    kind = "destination"
    options = {"url": "sqlite:///{tmp_path}/out.db", "table": "orders"}
    bad_record = {"id": 4, "name": "x", "amount": {"a set is no SQL value"}}


class TestMerge(ComponentContract):
    plugin = transforms
    component = "merge"
    kind = "transform"
    options = {"on": ["id"]}
    bad_record = {"name": "no id"}


class TestSplit(ComponentContract):
    plugin = transforms
    component = "split"
    kind = "transform"
    options = {"by": "region"}
    sample = REGIONS
    bad_record = {"id": 4, "amount": 1.0}


class TestFilter(ComponentContract):
    plugin = transforms
    component = "filter"
    kind = "transform"
    options = {"where": "amount > 5"}
    bad_record = {"id": 4, "amount": "not a number"}


class TestCompare(ComponentContract):
    plugin = transforms
    component = "compare"
    kind = "transform"
    options = {"key": ["id"]}
    sample = {"source": REGIONS[:2], "target": REGIONS[1:]}
    bad_record = {"region": "no key"}


class TestStdout(ComponentContract):
    plugin = stdout
    component = "stdout"
    kind = "destination"
    options = {"format": "jsonl"}
    # Every record prints: stdout has no bad record (the check skips with its reason).


class TestNotify(ComponentContract):
    plugin = notify
    component = "notify"
    kind = "destination"
