"""The `db` destination's schema control: `types` (SQL type names that override what is
inferred from the values), `schema = "evolve" | "freeze"` (new fields add nullable columns,
or are refused before anything is written), and the values turned into what a column takes
(an ISO 8601 string into a date, a float into a Decimal for a NUMERIC column).

SQLAlchemy is imported inside the functions: the CLI imports this module's component.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Record = dict[str, Any]
SCHEMAS = ("evolve", "freeze")

_TYPE = re.compile(r"\s*([a-z][a-z0-9 ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*\Z",
                   re.IGNORECASE)


def _type_makers() -> dict[str, Callable[..., Any]]:
    import sqlalchemy as sa

    return {
        "integer": sa.Integer, "int": sa.Integer, "smallint": sa.SmallInteger,
        "bigint": sa.BigInteger,
        "numeric": sa.Numeric, "decimal": sa.Numeric,
        "real": sa.Double, "float": sa.Double, "double": sa.Double,
        "double precision": sa.Double,
        "text": sa.Text, "varchar": sa.String, "char": sa.CHAR, "string": sa.String,
        "boolean": sa.Boolean, "bool": sa.Boolean,
        "date": sa.Date, "timestamp": sa.DateTime, "datetime": sa.DateTime,
        "timestamptz": lambda: sa.DateTime(timezone=True),
        "timestamp with time zone": lambda: sa.DateTime(timezone=True),
        "time": sa.Time, "json": sa.JSON, "jsonb": sa.JSON,
        "blob": sa.LargeBinary, "bytea": sa.LargeBinary, "binary": sa.LargeBinary,
        "uuid": sa.Uuid,
    }


TYPE_NAMES = ("integer", "smallint", "bigint", "numeric(p,s)", "decimal(p,s)", "real",
              "double", "text", "varchar(n)", "char(n)", "boolean", "date", "timestamp",
              "timestamptz", "time", "json", "blob", "uuid")


_BASES = frozenset({
    "integer", "int", "smallint", "bigint", "numeric", "decimal", "real", "float", "double",
    "double precision", "text", "varchar", "char", "string", "boolean", "bool", "date",
    "timestamp", "datetime", "timestamptz", "timestamp with time zone", "time", "json",
    "jsonb", "blob", "bytea", "binary", "uuid"})


def type_problem(name: Any, field: str = "") -> str | None:
    """What is wrong with a SQL type name, or None (no import: validation uses it)."""
    found = _TYPE.match(name) if isinstance(name, str) else None
    if found and " ".join(found.group(1).lower().split()) in _BASES:
        return None
    where = f" for {field!r}" if field else ""
    return f"unknown SQL type {name!r}{where} in `types`; use one of {', '.join(TYPE_NAMES)}"


def sql_type(name: str, field: str = "") -> Any:
    """A SQLAlchemy type from a SQL type name (``numeric(12,2)``, ``date``, ``varchar(40)``);
    a ValueError naming the field and the known names otherwise."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql

    problem = type_problem(name, field)
    if problem is not None:
        raise ValueError(f"db destination: {problem}")
    found = _TYPE.match(name)
    assert found is not None
    makers = _type_makers()
    base = " ".join(found.group(1).lower().split())
    args = [int(a) for a in found.group(2, 3) if a is not None]
    if base in ("numeric", "decimal"):
        return sa.Numeric(*args) if args else sa.Numeric(38, 10).with_variant(sa.Numeric(),
                                                                               "postgresql")
    if base in ("varchar", "string", "char") and args:
        return makers[base](args[0])
    if base in ("varchar", "string"):
        return sa.String(255)
    if base in ("timestamp", "datetime"):
        return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    return makers[base]()


def parse_types(types: Mapping[str, str] | None) -> dict[str, Any]:
    """``{"amount": "numeric(12,2)"}`` as SQLAlchemy types (checked before anything runs)."""
    if not types:
        return {}
    if not isinstance(types, Mapping):
        raise ValueError("db destination: `types` maps field names to SQL type names, e.g. "
                         '{"amount": "numeric(12,2)", "day": "date"}')
    return {str(field): sql_type(name, str(field)) for field, name in types.items()}


def check_schema(schema: str) -> str:
    if schema not in SCHEMAS:
        raise ValueError(f"db destination: unknown schema {schema!r}; use evolve (new fields "
                         "add nullable columns) or freeze (any change is an error)")
    return schema


def new_fields(batch: Iterable[Record], columns: Iterable[str]) -> dict[str, list[Any]]:
    """The fields of ``batch`` the table has no column for, with their values (first-seen
    order)."""
    known = set(columns)
    found: dict[str, list[Any]] = {}
    for record in batch:
        if record.keys() <= known:
            continue
        for field in record.keys() - known:
            found.setdefault(field, []).append(record[field])
    return {field: found[field] for field in sorted(found, key=lambda f: str(f))}


def add_columns(conn: Any, table: Any, fields: Mapping[str, Any]) -> Any:
    """ALTER TABLE ... ADD COLUMN for each ``name -> type`` (nullable); the table object
    gains the columns."""
    import sqlalchemy as sa

    preparer = conn.dialect.identifier_preparer
    for field, column_type in fields.items():
        column = sa.Column(field, column_type, nullable=True)
        compiled = column_type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
                             f"{preparer.quote(field)} {compiled} NULL"))
        table.append_column(column)
    return table


def drop_columns(conn: Any, table: Any, fields: Iterable[str]) -> None:
    """Undo :func:`add_columns` (MySQL/MariaDB commit DDL at once: a failed run drops the
    columns it added)."""
    import sqlalchemy as sa

    preparer = conn.dialect.identifier_preparer
    for field in fields:
        conn.execute(sa.text(f"ALTER TABLE {preparer.format_table(table)} DROP COLUMN "
                             f"{preparer.quote(field)}"))


# values ---------------------------------------------------------------------------------


def _to_decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal) or value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a number")
    try:
        return decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def _from_iso(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None or isinstance(value, kind):
            return value
        if isinstance(value, str):
            try:
                return kind.fromisoformat(value.strip())  # type: ignore[attr-defined]
            except ValueError:
                pass
        raise ValueError(f"{value!r} is not an ISO 8601 {kind.__name__}")
    return convert


def converters(table: Any) -> dict[str, Callable[[Any], Any]]:
    """Per column, what turns a value into what the column takes, for the columns whose
    values often arrive as text or floats (dates, times, decimals)."""
    import sqlalchemy as sa

    found: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, sa.DateTime):
            found[column.name] = _from_iso(dt.datetime)
        elif isinstance(kind, sa.Date):
            found[column.name] = _from_iso(dt.date)
        elif isinstance(kind, sa.Time):
            found[column.name] = _from_iso(dt.time)
        elif isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and getattr(
                kind, "asdecimal", True):
            found[column.name] = _to_decimal
    return found


def convert(record: Record, fields: Mapping[str, Callable[[Any], Any]]) -> Record:
    """``record`` with its values converted (a ValueError naming the field otherwise)."""
    changed = None
    for field, make in fields.items():
        value = record.get(field)
        if value is None:
            continue
        try:
            new = make(value)
        except ValueError as exc:
            raise ValueError(f"field {field!r}: {exc}") from None
        if new is not value:
            if changed is None:
                changed = dict(record)
            changed[field] = new
    return record if changed is None else changed
