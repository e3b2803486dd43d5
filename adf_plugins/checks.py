"""What the built-in components check before a run (``adf run --dry-run``) and the
connections they open under ``--check``, declared with ``adf_core.component(check=...,
probe=...)``: the same mechanism any plugin uses (see ``adf_core.checks``).

Checks only look at option values known before the run and never touch the network; probes
open a connection (a database session, an HTTP ``HEAD``) and move no data. Heavy libraries are
imported inside the functions, as in the components themselves.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Mapping
from typing import Any

from adf_core.checks import CheckFailed, Options, Problem
from adf_plugins._common import safe_url

#: the extra of async-data-flow that installs a driver, by SQLAlchemy driver name
_EXTRAS = {"psycopg": "postgres", "pymysql": "mysql"}
_PREFERRED = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql",
              "mariadb": "mariadb+pymysql"}
_CONNECT_TIMEOUT = 5


# file ----------------------------------------------------------------------------------------

def input_paths(options: Options) -> Iterator[Problem]:
    """The `path` of a file source names a file, or a glob that matches at least one."""
    path = options.get("path")
    if not isinstance(path, str | os.PathLike):
        return
    text = os.fspath(path)
    if glob.has_magic(text):
        matched = sorted(glob.glob(text, recursive=True))
        if not matched:
            yield Problem(f"no file matches {text!r} (from {os.getcwd()})", option="path")
            return
    elif not os.path.exists(text):
        yield Problem(f"no such file: {text!r} (from {os.getcwd()})", option="path")
        return
    else:
        matched = [text]
    yield from _formats(options, matched)


def output_format(options: Options) -> Iterator[Problem]:
    """A file destination can tell its format (from `format` or the extension)."""
    path = options.get("path")
    if isinstance(path, str | os.PathLike):
        yield from _formats(options, [os.fspath(path)])


def _formats(options: Options, paths: list[str]) -> Iterator[Problem]:
    from adf_core.data.formats import FORMATS, format_of

    if "format" not in options or options["format"] is not None:
        return
    unknown = [p for p in paths if format_of(p) is None]
    if unknown:
        yield Problem(f"cannot tell the format of {unknown[0]!r} from its extension; set "
                      f"`format` ({', '.join(FORMATS)})", option="format")


# filter --------------------------------------------------------------------------------------

def condition(options: Options) -> Iterator[Problem]:
    """The `where` condition of a filter compiles."""
    from adf_plugins.conditions import ConditionError, compile_condition

    where = options.get("where")
    if not isinstance(where, str):
        return
    try:
        compile_condition(where)
    except ConditionError as exc:
        first = str(exc).split("\n", 1)[0]
        yield Problem(f"{first} of {where.strip()!r}", option="where")


# db ------------------------------------------------------------------------------------------

def database_url(options: Options) -> Iterator[Problem]:
    """The `url` is a database URL whose dialect and driver import."""
    url = options.get("url")
    if isinstance(url, str):
        problem = driver_problem(url)
        if problem:
            yield Problem(problem, option="url")


def incremental_options(options: Options) -> Iterator[Problem]:
    """`initial_value`, `lag` and `key` only work with `incremental`; the cursor is a column
    name; `lag` is not negative."""
    column = options.get("incremental")
    if not column:
        for name in ("initial_value", "lag", "key"):
            if options.get(name) not in (None, "", []):
                yield Problem("has no effect without `incremental` (the cursor column); set "
                              "incremental = \"COLUMN\"", option=name)
        return
    from adf_plugins.incremental import Cursor

    try:
        Cursor(str(column), None)
    except ValueError as exc:
        yield Problem(str(exc), option="incremental")
    lag = options.get("lag")
    if isinstance(lag, int | float) and lag < 0:
        yield Problem(f"must be >= 0 (the cursor's own units), got {lag!r}", option="lag")


def driver_problem(url: str) -> str | None:
    """Why the driver behind ``url`` cannot be used, with what to install; None if it can."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return (f"{safe_url(url)!r} is not a database URL (e.g. sqlite:///orders.db, "
                "postgresql+psycopg://user@host/db)")
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"no SQLAlchemy dialect for {parsed.drivername!r} is installed"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        driver = parsed.get_driver_name()
        module = exc.name or driver
        hint = _install_hint(parsed.get_backend_name(), driver, module)
        return (f"the driver for {parsed.drivername}:// cannot be imported "
                f"(No module named {module!r}): {hint}")
    return None


def _install_hint(backend: str, driver: str, module: str) -> str:
    extra = _EXTRAS.get(driver)
    if extra:
        return (f"pip install 'adf-core[{extra}]' (from a checkout: "
                f"pip install '.[{extra}]')")
    preferred = _PREFERRED.get(backend)
    if preferred:
        extra = _EXTRAS[preferred.split("+")[1]]
        return (f"pip install {module}, or use {preferred}:// with "
                f"pip install 'adf-core[{extra}]'")
    return f"pip install {module}"


def upsert_key(options: Options) -> Iterator[Problem]:
    """``mode = upsert`` needs `key`."""
    if options.get("mode") == "upsert" and "key" in options and not options.get("key"):
        yield Problem("mode 'upsert' needs `key`: the field(s) that identify a record",
                      option="key")


def sql_types(options: Options) -> Iterator[Problem]:
    """The db destination's `types` name SQL types it knows."""
    from adf_plugins.db_schema import type_problem

    types = options.get("types")
    if isinstance(types, Mapping):
        for field, name in types.items():
            problem = type_problem(name, str(field))
            if problem is not None:
                yield Problem(problem, option="types")
    elif types is not None:
        yield Problem('maps field names to SQL type names, e.g. {"amount": "numeric(12,2)"}',
                      option="types")


def probe_db_source(options: Options) -> str:
    """Connect; with `table`, the table exists."""
    return _probe_db(options["url"], options.get("table"), reading=True)


def probe_db_destination(options: Options) -> str:
    """Connect (a SQLite file may not exist yet: its directory must)."""
    return _probe_db(options["url"], None, reading=False)


def _probe_db(url: str, table: str | None, reading: bool) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _probe_sqlite(url, parsed.database, table, reading)
    import sqlalchemy as sa

    args = {"connect_timeout": _CONNECT_TIMEOUT} if parsed.get_backend_name() in (
        "postgresql", "mysql", "mariadb") else {}
    engine = sa.create_engine(url, connect_args=args)
    try:
        with engine.connect() as conn:
            if table:
                schema, _, name = table.rpartition(".")
                if not sa.inspect(conn).has_table(name, schema=schema or None):
                    raise CheckFailed(f"{safe_url(url)} has no table {table!r}", option="table")
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise CheckFailed(f"cannot connect to {safe_url(url)}: {reason}", option="url"
                          ) from None
    finally:
        engine.dispose()
    return f"{safe_url(url)}: connected" + (f", table {table!r} found" if table else "")


def _probe_sqlite(url: str, database: str | None, table: str | None, reading: bool) -> str:
    import sqlite3
    from pathlib import Path
    from urllib.parse import quote

    if not database or database == ":memory:":
        return "an in-memory SQLite database"
    path = Path(database)
    if not path.exists():
        if reading:
            raise CheckFailed(f"no SQLite database file {database!r} (from {os.getcwd()})",
                              option="url")
        if not path.parent.is_dir():
            raise CheckFailed(f"cannot create the SQLite file {database!r}: no directory "
                              f"{str(path.parent)!r}", option="url")
        return f"{url}: will be created"
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            names = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CheckFailed(f"{database!r} is not a SQLite database: {exc}", option="url"
                          ) from None
    if table and table.rpartition(".")[2] not in names:
        raise CheckFailed(f"{url} has no table {table!r}", option="table")
    return f"{url}: opened" + (f", table {table!r} found" if table else "")


# http and notify -----------------------------------------------------------------------------

async def probe_http(options: Options) -> str:
    """A ``HEAD`` request to `url`: unreachable, or answered 401, 403, 404, 410 or 5xx (but
    501, HEAD not implemented), fails; 405 (HEAD not allowed) means the endpoint is there."""
    return await _head(options["url"], options.get("headers"), strict=True)


async def probe_webhook(options: Options) -> str:
    """Reach the webhook's server (a ``HEAD``; any HTTP answer will do: a webhook only
    takes POST). Without `url` there is nothing to reach."""
    url = options.get("url")
    if not url:
        return "no url: the summary is logged"
    return await _head(url, options.get("headers"), strict=False)


async def _head(url: str, headers: Any, strict: bool) -> str:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=_CONNECT_TIMEOUT * 2, follow_redirects=True
                                     ) as client:
            response = await client.head(url, headers=headers or None)
    except (httpx.TransportError, httpx.InvalidURL, ValueError) as exc:
        raise CheckFailed(f"cannot reach {safe_url(url)}: {type(exc).__name__}: {exc}",
                          option="url") from None
    status = response.status_code
    answered = f"{safe_url(url)} answered {status} {response.reason_phrase}".rstrip()
    if strict and (status in (401, 403, 404, 410) or (status >= 500 and status != 501)):
        raise CheckFailed(f"{answered} to HEAD", option="url")
    return answered
