"""`adf run --check` opens every connection without moving data: real SQLite and PostgreSQL,
moto's S3 server and HTTP servers on 127.0.0.1, closed ports and a missing bucket."""

from __future__ import annotations

import json
import os
import re
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
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
AWS_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
             "AWS_ENDPOINT_URL_S3", "AWS_REGION")


def adf(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in AWS_UNSET}
    environ.update(AWS_ENV)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "adf_core.cli", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hooks:
    """An HTTP server on 127.0.0.1:0: GET/HEAD answer 200 on known paths, 404 elsewhere;
    POSTs are recorded."""

    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    state: Hooks

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            state.heads.append(self.path)
            self._reply(200 if self.path.startswith("/api") else 404)

        def do_GET(self) -> None:
            self._reply(200 if self.path.startswith("/api") else 404, b'[{"id": 1}]')

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            state.posts.append(json.loads(self.rfile.read(length)))
            self._reply(200, b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Hooks(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def s3() -> Iterator[tuple[str, Any]]:
    """moto's S3 server on 127.0.0.1:0, and a client for it."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        yield endpoint, client
    finally:
        # moto keeps its buckets per process, whatever the server: start the next test afresh
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset",
                                                      method="POST")).close()
        server.stop()


@pytest.fixture
def pg_schema(postgresql_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema (tests share the server), dropped afterwards."""
    import sqlalchemy as sa

    name = f"adf_check_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        engine.dispose()


def readme_pipeline() -> str:
    text = (ROOT / "README.md").read_text()
    tail = text[text.index("### Pipeline files"):]
    match = re.search(r"```toml\n(.*?)```", tail, re.DOTALL)
    assert match
    return match[1]


def orders_databases(tmp_path: Path, schema: str) -> str:
    """orders.db (SQLite, the source) and an orders table in ``schema`` (PostgreSQL, the
    target); returns the target URL, whose search_path is the schema."""
    import sqlalchemy as sa

    con = sqlite3.connect(tmp_path / "orders.db")
    con.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, amount INTEGER)")
    con.executemany("INSERT INTO orders VALUES (?, ?)", [(1, 10), (2, 20), (3, 30)])
    con.commit()
    con.close()
    url = f"{PG}?options=-csearch_path%3D{schema}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (order_id BIGINT PRIMARY KEY, amount BIGINT)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (1, 10), (2, 25), (4, 40)"))
    engine.dispose()
    return url


def test_the_readme_pipeline_passes_check_and_then_runs(tmp_path, pg_schema, s3, hooks):
    endpoint, client = s3
    client.create_bucket(Bucket="reconciliation")
    (tmp_path / "flow.toml").write_text(readme_pipeline())
    env = {"TARGET_DB_URL": orders_databases(tmp_path, pg_schema),
           "AWS_ENDPOINT_URL_S3": endpoint, "WEBHOOK_URL": f"{hooks.url}/hook"}
    proc = adf("run", "-f", "flow.toml", "--check", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split()[1] for line in
            proc.stdout[proc.stdout.index("CHECKED"):].splitlines()[1:-1]}
    assert rows == {"source": "ok", "target": "ok", "s3": "ok", "notify": "ok"}
    assert "check: every connection opened; nothing was read or written" in proc.stdout
    assert hooks.posts == [] and client.list_objects_v2(Bucket="reconciliation")["KeyCount"] == 0
    # ... and it runs as written
    proc = adf("run", "-f", "flow.toml", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    body = client.get_object(Bucket="reconciliation", Key="orders/diff.jsonl")["Body"].read()
    changes = sorted((r["_change"], r["order_id"]) for r in map(json.loads, body.splitlines()))
    assert changes == [("added", 3), ("changed", 2), ("removed", 4)]
    assert [p["status"] for p in hooks.posts] == ["succeeded"]


def test_check_reports_every_connection_that_does_not_open(tmp_path, pg_schema, s3, hooks):
    endpoint, _ = s3
    (tmp_path / "flow.toml").write_text(readme_pipeline())
    env = {"TARGET_DB_URL": orders_databases(tmp_path, pg_schema),
           "AWS_ENDPOINT_URL_S3": endpoint, "WEBHOOK_URL": f"{hooks.url}/hook"}
    dead = closed_port()
    proc = adf("run", "-f", "flow.toml", "--check", "--json",
               "-o", f"target.url=postgresql+psycopg://postgres:pw123@127.0.0.1:{dead}/test",
               "-o", "source.url=sqlite:///missing.db",
               "-o", f"notify.url=http://127.0.0.1:{dead}/hook", cwd=tmp_path, env=env)
    assert proc.returncode == 2  # the bucket "reconciliation" was never created either
    checks = {c["component"]: c for c in json.loads(proc.stdout)["checks"]}
    assert {alias: c["status"] for alias, c in checks.items()} == {
        "source": "failed", "target": "failed", "s3": "failed", "notify": "failed"}
    assert checks["source"]["message"].startswith("no SQLite database file 'missing.db'")
    assert checks["target"]["message"].startswith(
        f"cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:{dead}/test")
    assert checks["target"]["option"] == "url"
    assert checks["s3"] == {"component": "s3", "status": "failed", "option": "bucket",
                            "message": "the bucket 'reconciliation' does not exist"}
    assert checks["notify"]["message"].startswith(f"cannot reach http://127.0.0.1:{dead}/hook")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4 and "pw123" not in proc.stderr + proc.stdout


def test_check_db_tables_the_s3_source_and_http_endpoints(tmp_path, s3, hooks):
    endpoint, client = s3
    client.create_bucket(Bucket="inbox")
    client.put_object(Bucket="inbox", Key="a/1.jsonl", Body=b'{"id": 1}\n')
    con = sqlite3.connect(tmp_path / "a.db")
    con.execute("CREATE TABLE orders (id INTEGER)")
    con.close()
    base = ["run", "--check", "db, s3, http | merge | stdout",
            "-o", f"db.url=sqlite:///{tmp_path / 'a.db'}", "-o", f"s3.endpoint_url={endpoint}",
            "-o", "s3.bucket=inbox"]
    proc = adf(*base, "-o", "db.table=orders", "-o", "s3.prefix=a/",
               "-o", f"http.url={hooks.url}/api")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "table 'orders' found" in proc.stdout and "s3://inbox/a/: objects found" in proc.stdout
    proc = adf(*base, "-o", "db.table=order", "-o", "s3.key=a/2.jsonl",
               "-o", f"http.url={hooks.url}/nope")
    assert proc.returncode == 2
    assert sorted(line for line in proc.stderr.splitlines() if line.startswith("error:")) == [
        f"error: db.table: sqlite:///{tmp_path / 'a.db'} has no table 'order'",
        f"error: http.url: {hooks.url}/nope answered 404 Not Found to HEAD",
        "error: s3.key: no object 'a/2.jsonl' in the bucket 'inbox'",
    ]
    assert hooks.heads == ["/api", "/nope"]  # HEAD only: nothing was read


def test_a_probe_needing_a_value_from_an_earlier_stage_is_skipped(tmp_path):
    # numbers returns a dict of any keys: `url` may come from it, so it is not missing, and
    # its connection cannot be opened before the run
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests" / "plugins"),
                                                       os.environ.get("PYTHONPATH")]))}
    proc = adf("run", "--check", "adf_sample_basic:numbers | db", "-o", "db.table=t", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "not probed: 'url' only known at run time" in proc.stdout
    proc = adf("run", "--check", "adf_sample_basic:numbers | db", "-o", "db.table=t",
               "-p", f"url=sqlite:///{tmp_path / 'new.db'}", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"sqlite:///{tmp_path / 'new.db'}: will be created" in proc.stdout
    assert not (tmp_path / "new.db").exists()
