"""The design card's commands, end to end through `adf` in a subprocess: a real SQLite file,
the local PostgreSQL, a moto S3 server and a webhook server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Webhook:
    url: str
    payloads: list[dict] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.payloads.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


def sqlite_orders(path: Path, rows: list[tuple[int, str, int]]) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("create table orders (id integer primary key, customer text, amount integer)")
        conn.executemany("insert into orders values (?, ?, ?)", rows)
    return f"sqlite:///{path}"


def adf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adf_core.cli", "run", *args, "-q"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


def options(**values: str) -> list[str]:
    return [arg for key, value in values.items() for arg in ("-o", f"{key}={value}")]


ROWS = [(1, "Ada", 120), (2, "Blaise", 35), (3, "Carl", 310)]


def test_source_db_transform_merge_dest_s3_and_notify(bucket, webhook, tmp_path):
    url = sqlite_orders(tmp_path / "orders.db", ROWS)

    done = adf("--source", "db", "--transform", "merge", "--dest", "s3,notify",
               *options(**{"db.url": url, "db.table": "orders", "s3.bucket": bucket.name,
                           "s3.key": "orders.jsonl", "s3.endpoint_url": bucket.endpoint_url,
                           "notify.url": webhook.url}))

    assert done.returncode == 0, done.stderr
    written = bucket.get_jsonl("orders.jsonl")
    assert written == [{"id": i, "customer": c, "amount": a} for i, c, a in ROWS]
    (payload,) = webhook.payloads
    assert payload["status"] == "succeeded"
    assert payload["records"] == len(ROWS)
    assert payload["counts"] == {"merge": len(ROWS)}
    assert payload["run_id"] and payload["run_id"] in payload["text"]


def _require_postgres() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        reason = "PostgreSQL is not running on 127.0.0.1:5432"
        if os.environ.get("ADF_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and ADF_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)


def test_reconciliation_between_sqlite_and_postgresql_to_s3_and_notify(bucket, webhook,
                                                                       tmp_path):
    _require_postgres()
    import sqlalchemy as sa

    source = sqlite_orders(tmp_path / "source.db", [*ROWS, (4, "Dora", 50)])
    table = f"adf_e2e_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"create table {table} (id integer primary key, customer text, amount integer)"))
        # 1 is missing (added in the source), 3 differs (changed), 5 is extra (removed)
        conn.execute(sa.text(f"insert into {table} values (2, 'Blaise', 35), "
                             f"(3, 'Carl', 999), (4, 'Dora', 50), (5, 'Emmy', 89)"))
    try:
        done = adf("source=db, target=db | compare | s3, notify",
                   *options(**{"source.url": source, "source.table": "orders",
                               "target.url": POSTGRES, "target.table": table,
                               "compare.key": "id", "s3.bucket": bucket.name,
                               "s3.key": "diff.jsonl", "s3.endpoint_url": bucket.endpoint_url,
                               "notify.url": webhook.url}))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop table {table}"))
        engine.dispose()

    assert done.returncode == 0, done.stderr
    diff = sorted(bucket.get_jsonl("diff.jsonl"), key=lambda r: r["id"])
    assert diff == [
        {"id": 1, "customer": "Ada", "amount": 120, "_change": "added"},
        {"id": 3, "customer": "Carl", "amount": 310, "_change": "changed"},
        {"id": 5, "customer": "Emmy", "amount": 89, "_change": "removed"},
    ]
    (payload,) = webhook.payloads
    assert payload["status"] == "succeeded"
    assert payload["records"] == 3
