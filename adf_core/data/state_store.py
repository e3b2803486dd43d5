"""Where pipelines keep their state between runs: a table ``adf_state`` in SQLite, PostgreSQL
or MariaDB/MySQL.

One row per (pipeline, alias) holding a JSON object. A run writes all its rows in one
transaction, so the aliases of a pipeline never disagree about which run they come from. The
store is found as runs find it: an explicit URL (``--state``, ``DataFlow(state=...)``,
``[settings] state``), else ``ADF_STATE``, else ``sqlite:///.adf/state.db`` under the working
directory. SQLAlchemy is imported only when a store is opened.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "sqlite:///.adf/state.db"
TABLE = "adf_state"
_CREATE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (pipeline VARCHAR(200) NOT NULL, "
           "alias VARCHAR(200) NOT NULL, value {text} NOT NULL, run_id VARCHAR(64), "
           "updated_at VARCHAR(40), PRIMARY KEY (pipeline, alias))")
#: backend names (SQLAlchemy's ``get_backend_name``) of the MySQL family
_MYSQL = ("mysql", "mariadb")


class StateStoreError(RuntimeError):
    """The state store cannot be opened, read or written (the message names its URL)."""


def store_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The store a run uses: ``explicit``, else ``ADF_STATE``, else the default."""
    env = os.environ if environ is None else environ
    return explicit or env.get("ADF_STATE") or DEFAULT_URL


@dataclass(frozen=True)
class StoredState:
    """One row of the store."""

    pipeline: str
    alias: str
    value: dict[str, Any]
    run_id: str | None
    updated_at: str | None
    size: int  # bytes of its JSON


def encode_state(value: Mapping[str, Any], where: str) -> str:
    """A state mapping as compact JSON; a value JSON cannot hold is an error naming ``where``."""
    try:
        return json.dumps(dict(value), separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateStoreError(f"the state of {where} is not JSON: {exc}; keep only strings, "
                              "numbers, booleans, None, lists and dicts in `state`") from None


class StateStore:
    """A state store at a SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...`` or
    ``mysql+pymysql://...``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Any = None

    @property
    def shown(self) -> str:
        import sqlalchemy as sa

        try:
            return str(sa.engine.make_url(self.url).render_as_string(hide_password=True))
        except sa.exc.ArgumentError:
            return repr(self.url)

    def engine(self) -> Any:
        if self._engine is None:
            import sqlalchemy as sa

            try:
                url = sa.engine.make_url(self.url)
            except sa.exc.ArgumentError:
                raise StateStoreError(
                    f"state store {self.url!r} is not a database URL; use sqlite:///PATH, "
                    "postgresql+psycopg://USER@HOST/DB or mysql+pymysql://USER@HOST/DB"
                ) from None
            if url.get_backend_name() == "sqlite":
                database = url.database
                if database and database != ":memory:" and not database.startswith("file:"):
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                self._engine = sa.create_engine(url, connect_args={"timeout": 60.0})
                _sqlite_begins_immediate(self._engine)
            else:
                self._engine = sa.create_engine(url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _run(self, what: str, work: Any) -> Any:
        import sqlalchemy as sa

        try:
            with self.engine().begin() as conn:
                create_table(conn)
            with self.engine().begin() as conn:
                return work(conn)
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StateStoreError(f"state store {self.shown}: cannot {what}: "
                                  f"{type(cause).__name__}: {cause}") from exc

    def load(self, pipeline: str) -> dict[str, dict[str, Any]]:
        """alias -> state of ``pipeline`` (aliases never saved are absent)."""
        return {row.alias: row.value for row in self.rows(pipeline)}

    def rows(self, pipeline: str | None = None) -> list[StoredState]:
        import sqlalchemy as sa

        def read(conn: Any) -> list[StoredState]:
            sql = f"SELECT pipeline, alias, value, run_id, updated_at FROM {TABLE}"
            params: dict[str, Any] = {}
            if pipeline is not None:
                sql += " WHERE pipeline = :pipeline"
                params["pipeline"] = pipeline
            found = conn.execute(sa.text(sql + " ORDER BY pipeline, alias"), params)
            return [StoredState(p, a, json.loads(v), r, u, len(v.encode()))
                    for p, a, v, r, u in found]

        return list(self._run("read the state", read))

    def save(self, pipeline: str, states: Mapping[str, Mapping[str, Any]],
             run_id: str | None) -> None:
        """Write the state of every alias in ``states`` in one transaction."""
        encoded = {alias: encode_state(value, f"{pipeline}.{alias}")
                   for alias, value in states.items()}
        self._run("save the state", lambda conn: write_rows(conn, pipeline, encoded, run_id))

    def reset(self, pipeline: str, alias: str | None = None) -> int:
        """Forget the state of ``pipeline`` (or of one alias of it); the rows removed."""
        import sqlalchemy as sa

        def delete(conn: Any) -> int:
            sql = f"DELETE FROM {TABLE} WHERE pipeline = :pipeline"
            params = {"pipeline": pipeline}
            if alias is not None:
                sql += " AND alias = :alias"
                params["alias"] = alias
            return int(conn.execute(sa.text(sql), params).rowcount or 0)

        return int(self._run("reset the state", delete))


def create_table(conn: Any) -> None:
    """Create ``adf_state`` if missing (two runs creating it at once: the loser retries)."""
    import sqlalchemy as sa

    if conn.dialect.name in _MYSQL:
        # DDL commits implicitly there (a savepoint around it would be gone), and its
        # IF NOT EXISTS is safe against a concurrent create; LONGTEXT: TEXT stops at 64 KiB
        conn.execute(sa.text(_CREATE.format(text="LONGTEXT")))
        return
    if sa.inspect(conn).has_table(TABLE):
        return
    nested = conn.begin_nested()
    try:
        conn.execute(sa.text(_CREATE.format(text="TEXT")))
    except sa.exc.IntegrityError:  # PostgreSQL: created concurrently by another run
        nested.rollback()
    else:
        nested.commit()


def write_rows(conn: Any, pipeline: str, encoded: Mapping[str, str], run_id: str | None) -> None:
    """Replace the rows of ``pipeline``'s aliases in ``encoded`` on an open SQLAlchemy
    connection, inside the caller's transaction (the table must exist)."""
    import sqlalchemy as sa

    if not encoded:
        return
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE pipeline = :pipeline AND alias = :alias"),
                 [{"pipeline": pipeline, "alias": alias} for alias in encoded])
    conn.execute(
        sa.text(f"INSERT INTO {TABLE} (pipeline, alias, value, run_id, updated_at) "
                "VALUES (:pipeline, :alias, :value, :run_id, :updated_at)"),
        [{"pipeline": pipeline, "alias": alias, "value": value, "run_id": run_id,
          "updated_at": now} for alias, value in encoded.items()])


def state_statements(pipeline: str, encoded: Mapping[str, str], run_id: str | None
                     ) -> list[tuple[str, dict[str, Any]]]:
    """The statements (``:name`` placeholders) that ``write_rows`` runs, one row each: for a
    caller whose driver is not SQLAlchemy (ADBC) to run inside its own transaction."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    found: list[tuple[str, dict[str, Any]]] = []
    for alias, value in encoded.items():
        found.append((f"DELETE FROM {TABLE} WHERE pipeline = :pipeline AND alias = :alias",
                      {"pipeline": pipeline, "alias": alias}))
        found.append((f"INSERT INTO {TABLE} (pipeline, alias, value, run_id, updated_at) "
                      "VALUES (:pipeline, :alias, :value, :run_id, :updated_at)",
                      {"pipeline": pipeline, "alias": alias, "value": value,
                       "run_id": run_id or "", "updated_at": now}))
    return found


def same_database(a: str, b: str) -> bool:
    """Whether two SQLAlchemy URLs reach one database (whatever the driver): one PostgreSQL
    or MariaDB/MySQL database on one server, or one SQLite file."""
    import sqlalchemy as sa

    try:
        first, second = sa.engine.make_url(a), sa.engine.make_url(b)
    except sa.exc.ArgumentError:
        return False
    backend, other = first.get_backend_name(), second.get_backend_name()
    if backend in _MYSQL and other in _MYSQL:
        backend = other = "mysql"
    if backend != other:
        return False
    if backend == "sqlite":
        if not first.database or not second.database or ":memory:" in (first.database,
                                                                       second.database):
            return False
        return Path(first.database).resolve() == Path(second.database).resolve()
    if backend not in ("postgresql", "mysql"):
        return False
    default_port = 5432 if backend == "postgresql" else 3306

    def where(url: Any) -> tuple[Any, ...]:
        host = url.host or "localhost"
        host = "localhost" if host in ("127.0.0.1", "::1") else host
        return host, url.port or default_port, url.database

    return where(first) == where(second)


def _sqlite_begins_immediate(engine: Any) -> None:
    """Writers take the file lock at BEGIN (two deferred writers would deadlock on upgrade)."""
    import sqlalchemy as sa

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
