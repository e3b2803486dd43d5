"""Secrets that do not look like secrets by option name stay hidden everywhere `adf` writes.

Real `adf run` processes against a real HTTP server on 127.0.0.1 that answers 401 and echoes
the request headers, and against the local PostgreSQL with a role whose password holds `/`,
`?`, `#` and `:` (SQLAlchemy reads such a URL, and connects with it). Every output is
checked: stdout, stderr (console and JSON lines, with and without -v), `--json`, `--dry-run`
(both forms) and the trace file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


VARIANTS = [
    ["--dry-run"], ["--dry-run", "--json"], [], ["--json"], ["-v"], ["-v", "--log-format",
                                                                       "console"],
    ["--log-format", "json", "-v"],
]


def adf(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "adf_core.cli", "run", *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


def outputs(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
            variants: list[list[str]] = VARIANTS,
            ) -> Iterator[tuple[list[str], subprocess.CompletedProcess, str]]:
    """Run ``adf run ARGS`` once per output variant, each with a trace file."""
    for variant in variants:
        trace = tmp_path / "trace.json"
        trace.unlink(missing_ok=True)
        extra = [] if "--dry-run" in variant else ["--trace-file", str(trace)]
        done = adf(*args, *variant, *extra, cwd=tmp_path, env=env)
        yield variant, done, trace.read_text() if trace.exists() else ""


def assert_hidden(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked in:\n{text[-3000:]}"


# -- HTTP headers -----------------------------------------------------------------------


@pytest.fixture
def echo_server() -> Iterator[dict[str, Any]]:
    """Answers every request 401 with the request's headers in the body."""
    seen: dict[str, Any] = {"headers": []}

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = dict(self.headers.items())
            seen["headers"].append(headers)
            body = json.dumps({"error": "unauthorized", "you sent": headers}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen["url"] = f"http://127.0.0.1:{server.server_address[1]}/orders"
    yield seen
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("form", ["json", "pairs"])
def test_credential_headers_never_show_even_when_a_401_echoes_them(
        echo_server: dict[str, Any], tmp_path: Path, form: str) -> None:
    token, key, cookie = (f"{kind}-{uuid.uuid4().hex}" for kind in ("tok", "key", "ck"))
    headers = {"Authorization": f"Bearer {token}", "X-Api-Key": key,
               "Cookie": f"theme=dark; session={cookie}", "Accept": "application/json"}
    value = (json.dumps(headers) if form == "json"
             else ",".join(f"{k}={v}" for k, v in headers.items()))

    for variant, done, trace in outputs(
            tmp_path, "src=http | stdout", "-o", f"src.url={echo_server['url']}",
            "-o", f"src.headers={value}", "-o", "src.max_retries=0"):
        assert done.returncode == (0 if "--dry-run" in variant else 1), (variant, done.stderr)
        assert_hidden([token, key, cookie], done.stdout, done.stderr, trace)
        if "--dry-run" not in variant:
            assert "answered 401 Unauthorized" in done.stderr + done.stdout, variant
            assert '"Authorization": "***"' in done.stderr + done.stdout, variant
            assert "python-httpx" in done.stderr + done.stdout  # other headers stay readable
    # The component sent the real values.
    sent = echo_server["headers"][-1]
    assert sent["Authorization"] == f"Bearer {token}" and sent["X-Api-Key"] == key


# -- a PostgreSQL password with "/", "?", "#" -----------------------------------------


@pytest.fixture
def pg_role(postgresql_url: str) -> Iterator[tuple[str, str]]:
    """A login role whose password SQLAlchemy's URL rules allow raw: '/', '?', '#', ':'."""
    import sqlalchemy as sa

    role = f"adf_secret_{uuid.uuid4().hex[:10]}"
    password = f"pa/ss?w#rd:{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
    try:
        yield role, password
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()


def test_a_url_password_with_slash_question_mark_and_hash_never_shows(
        pg_role: tuple[str, str], tmp_path: Path) -> None:
    import sqlalchemy as sa

    role, password = pg_role
    url = f"postgresql+psycopg://{role}:{password}@127.0.0.1:5432/test"
    assert sa.make_url(url).password == password  # SQLAlchemy reads it whole
    pieces = [password, password.split("/", 1)[1], password.split("#", 1)[1]]

    for variant, done, trace in outputs(tmp_path, "src=db | stdout", "-o", f"src.url={url}",
                                        "-o", "src.query=select * from no_such_table_here"):
        assert done.returncode == (0 if "--dry-run" in variant else 1), (variant, done.stderr)
        assert_hidden(pieces, done.stdout, done.stderr, trace)
        if "--dry-run" in variant:
            assert f"{role}:***@127.0.0.1" in done.stdout
        else:
            assert "no_such_table_here" in done.stderr + done.stdout  # the real error shows
    # It connects with that URL: the query runs as the role.
    done = adf("src=db | stdout", "-o", f"src.url={url}", "-o", "src.query=select current_user",
               "-o", "stdout.format=jsonl", "-v", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"current_user": role}
    assert_hidden(pieces, done.stdout, done.stderr)


# -- options a component declares secret ------------------------------------------------

DECLARING = '''
from adf_core import component


@component(secrets=["dsn", "extra"])
def connect(dsn: str, extra: dict | None = None, fail: bool = False):
    """Connects with a DSN whose name does not say it is secret."""
    if fail:
        raise ConnectionError(f"cannot reach {dsn} with {extra}")
    return {"rows": [{"ok": 1}]}
'''


@pytest.mark.parametrize("source", ["option", "environment", "param"])
def test_options_declared_secret_are_hidden_everywhere(tmp_path: Path, source: str) -> None:
    (tmp_path / "declaring.py").write_text(DECLARING)
    dsn, nested = f"dsn-{uuid.uuid4().hex}", f"nested-{uuid.uuid4().hex}"
    env = {"PYTHONPATH": str(tmp_path)}
    given = ["-o", f"connect.extra={json.dumps({'k': nested})}"]
    if source == "option":
        given += ["-o", f"connect.dsn={dsn}"]
    elif source == "environment":
        env["ADF_CONNECT_DSN"] = dsn
    else:
        given += ["-p", f"dsn={dsn}"]

    # Every output for -o; the other sources need only show that they are learned.
    variants = VARIANTS if source == "option" else [["--dry-run", "--json"], ["-v"]]
    for variant, done, trace in outputs(tmp_path, "declaring:connect | stdout", *given,
                                        "-o", "connect.fail=true", env=env, variants=variants):
        assert done.returncode == (0 if "--dry-run" in variant else 1), (variant, done.stderr)
        assert_hidden([dsn, nested], done.stdout, done.stderr, trace)
        if "--dry-run" not in variant:
            assert "cannot reach ***" in done.stderr + done.stdout
