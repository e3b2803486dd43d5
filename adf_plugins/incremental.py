"""Incremental reads for SQL sources: the cursor query, its saved state, and de-duplication.

Both read paths of the `db` source (SQLAlchemy rows as dicts, ADBC batches in Arrow) use it:

    cursor = Cursor("updated_at", state, initial_value=..., lag=3600, key=["id"])
    sql, params = cursor.query(query=None, table="orders", params=bound)
    for batch in batches:              # a list of dicts or a pyarrow.RecordBatch
        batch = cursor.accept(batch)   # drops rows already loaded, advances the state
        ...

The query reads ``column > last - lag`` ordered by the cursor (``>= initial_value`` on the
first run; everything when neither is known). ``lag`` is in the cursor's own units (seconds
for timestamps and dates, a number for numeric cursors) and re-reads a window for rows
committed late with an older cursor value. Inside that window the rows already loaded are
dropped by (`key`, cursor): the state keeps only the rows whose cursor lies within ``lag`` of
the highest value seen, so its size does not grow with the table. The state is updated as
each batch is accepted, before it goes on; the engine saves it only once the run succeeded.

`:name` placeholders in a query are bound from the source's `params`, then from the flow
context (``-p day=2026-11-24``, ``[params]``), never by string formatting.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Mapping
from typing import Any

#: How SQLAlchemy's ``text()`` finds bind parameters (``\\:`` escapes a colon).
PLACEHOLDER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
CURSOR_PARAM = "adf_cursor_from"


def bind_params(query: str, params: Mapping[str, Any] | None, context: Mapping[str, Any] | None,
                alias: str) -> dict[str, Any]:
    """The values of ``query``'s ``:name`` placeholders: from ``params``, else the context.

    A placeholder found in neither is an error naming it and the alias.
    """
    given = dict(params or {})
    found: dict[str, Any] = {}
    for name in dict.fromkeys(PLACEHOLDER.findall(query)):
        if name in given:
            found[name] = given[name]
        elif context is not None and name in context:
            found[name] = context[name]
        else:
            raise ValueError(
                f"db source {alias!r}: the query uses the placeholder :{name}, which is neither "
                f"in its `params` nor in the flow context; pass it with -p {name}=VALUE, "
                f"[params] {name} = ... in the pipeline file, or -o {alias}.params=... "
                "(write \\: for a literal colon)")
    return found


def to_positional(sql: str, params: Mapping[str, Any], style: str = "qmark"
                  ) -> tuple[str, list[Any]]:
    """``:name`` placeholders as positional ones for drivers without named parameters:
    ``qmark`` (``?``, SQLite) or ``numeric_dollar`` (``$1``, PostgreSQL)."""
    values: list[Any] = []

    def replace(match: re.Match[str]) -> str:
        values.append(params[match[1]])
        return "?" if style == "qmark" else f"${len(values)}"

    return PLACEHOLDER.sub(replace, sql).replace("\\:", ":"), values


def encode(value: Any) -> Any:
    """A cursor or key value as JSON (dates, timestamps and decimals keep their type)."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes):
        return {"$hex": value.hex()}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        if tag == "$datetime":
            return dt.datetime.fromisoformat(text)
        if tag == "$date":
            return dt.date.fromisoformat(text)
        if tag == "$decimal":
            return decimal.Decimal(text)
        if tag == "$hex":
            return bytes.fromhex(text)
    return value


def lower_bound(value: Any, lag: float) -> Any:
    """``value - lag`` in the cursor's own units (seconds for timestamps and dates)."""
    if not lag:
        return value
    if isinstance(value, bool):
        raise ValueError("lag needs a numeric, date or timestamp cursor, not a boolean")
    if isinstance(value, dt.datetime):
        return value - dt.timedelta(seconds=lag)
    if isinstance(value, dt.date):
        return value - dt.timedelta(days=-(-lag // 86400))
    if isinstance(value, decimal.Decimal):
        return value - decimal.Decimal(str(lag))
    if isinstance(value, int | float):
        result = value - lag
        return int(result) if isinstance(value, int) and float(lag).is_integer() else result
    if isinstance(value, str):  # SQLite keeps timestamps as text: subtract, write back alike
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"lag needs a numeric, date or timestamp cursor; the cursor value "
                             f"{value!r} is text") from None
        sep = "T" if "T" in value else " "
        shifted = parsed - dt.timedelta(seconds=lag)
        if len(value) == 10:
            return shifted.date().isoformat()
        return shifted.isoformat(sep=sep)
    raise ValueError(f"lag needs a numeric, date or timestamp cursor, got {type(value).__name__}")


def _number_if_numeric(value: Any) -> Any:
    """``-o src.initial_value=10`` arrives as text: a numeric cursor needs the number."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d*", value.strip()):
        return float(value)
    return value


def _identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{what} {name!r} must be a plain (schema.)name: letters, digits, _")
    return name


class Cursor:
    """The incremental state of one source: the last cursor value and the rows in the window.

    ``state`` is the component's saved state (a dict, updated in place): ``{"cursor": last,
    "window": [[key..., cursor], ...]}`` (the window only with ``key`` and ``lag``).
    """

    def __init__(self, column: str, state: dict[str, Any] | None, *,
                 initial_value: Any = None, lag: float | None = None,
                 key: list[str] | str | None = None) -> None:
        self.column = _identifier(column, "incremental column")
        self.state = state if state is not None else {}
        self.initial_value = _number_if_numeric(initial_value)
        self.lag = float(lag or 0)
        if self.lag < 0:
            raise ValueError(f"lag must be >= 0, got {lag!r}")
        if isinstance(key, str):
            key = [k.strip() for k in key.split(",") if k.strip()]
        self.key = list(key or [])
        saved = self.state.get("cursor")
        self.last = decode(saved) if saved is not None else None
        self.from_value = lower_bound(self.last, self.lag) if self.last is not None else None
        #: token -> [key..., cursor] (encoded): the rows within lag of the last cursor value
        self.window: dict[str, list[Any]] = {
            self._token(entry[:-1], decode(entry[-1])): entry
            for entry in self.state.get("window", [])} if self.key else {}
        #: what earlier runs loaded inside the window: duplicates when read again
        self.loaded = frozenset(self.window)

    def query(self, *, query: str | None = None, table: str | None = None,
              params: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """The SQL (``:name`` placeholders) and parameters reading what is new."""
        source = (_identifier(table, "table") if table is not None
                  else f"({query}) adf_incremental")
        bound = dict(params or {})
        where = ""
        if self.last is not None:
            where = f" WHERE {self.column} > :{CURSOR_PARAM}"
            bound[CURSOR_PARAM] = self.from_value
        elif self.initial_value is not None:
            where = f" WHERE {self.column} >= :{CURSOR_PARAM}"
            bound[CURSOR_PARAM] = self.initial_value
        return f"SELECT * FROM {source}{where} ORDER BY {self.column}", bound

    def _token(self, keys: Any, cursor: Any) -> str:
        return json.dumps([*(encode(k) for k in keys), encode(cursor)], default=str)

    def accept(self, batch: Any) -> Any:
        """Drop the rows of ``batch`` loaded before, advance the state; return the rest.
        ``batch`` is a list of dicts or a ``pyarrow.RecordBatch`` (returned in kind)."""
        if isinstance(batch, list):
            return self._accept_records(batch)
        return self._accept_arrow(batch)

    def _accept_records(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not batch:
            return batch
        column, key = self.column, self.key
        try:
            values = [record[column] for record in batch]
            if key:
                keys = [[record[k] for k in key] for record in batch]
        except KeyError as exc:
            raise ValueError(f"incremental: the rows have no column {exc.args[0]!r}") from None
        if self.loaded and self.from_value is not None:
            start = self.from_value
            keep = [i for i, (value, ks) in enumerate(zip(values, keys, strict=True))
                    if value is None or not value > start
                    or self._token(ks, value) not in self.loaded]
            if len(keep) < len(batch):
                batch = [batch[i] for i in keep]
                values = [values[i] for i in keep]
                keys = [keys[i] for i in keep]
        present = [v for v in values if v is not None]
        if present:
            self._advance(max(present), lambda lower: [
                (ks, v) for v, ks in zip(values, keys, strict=True)
                if v is not None and v > lower] if key else [])
        return batch

    def _accept_arrow(self, batch: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        if batch.num_rows == 0:
            return batch
        names = batch.schema.names
        missing = [c for c in (self.column, *self.key) if c not in names]
        if missing:
            raise ValueError(f"incremental: the rows have no column {missing[0]!r}")
        column = batch.column(self.column)

        def scalar(value: Any) -> Any:
            return pa.scalar(value, type=column.type)

        def rows(mask: Any) -> list[tuple[list[Any], Any]]:
            picked = batch.filter(mask).select([*self.key, self.column]).to_pylist()
            return [([r[k] for k in self.key], r[self.column]) for r in picked]

        if self.loaded and self.from_value is not None:
            inside = pc.fill_null(pc.greater(column, scalar(self.from_value)), False)
            if pc.any(inside).as_py():
                positions = pc.indices_nonzero(inside).to_pylist()
                drop = {i for i, (ks, value) in zip(positions, rows(inside), strict=True)
                        if self._token(ks, value) in self.loaded}
                if drop:
                    keep = [i not in drop for i in range(batch.num_rows)]
                    batch = batch.filter(pa.array(keep))
                    column = batch.column(self.column)
                    if batch.num_rows == 0:
                        return batch
        highest = pc.max(column).as_py()
        if highest is not None:
            self._advance(highest, lambda lower: rows(
                pc.fill_null(pc.greater(column, scalar(lower)), False)) if self.key else [])
        return batch

    def _advance(self, highest: Any, in_window: Any) -> None:
        """Move the cursor to ``highest`` (if higher) and keep the window's rows."""
        if self.last is None or highest > self.last:
            self.last = highest
        self.state["cursor"] = encode(self.last)
        if not (self.key and self.lag):
            return
        lower = lower_bound(self.last, self.lag)
        for keys, value in in_window(lower):
            self.window[self._token(keys, value)] = [*(encode(k) for k in keys), encode(value)]
        self.window = {token: entry for token, entry in self.window.items()
                       if decode(entry[-1]) > lower}
        self.state["window"] = list(self.window.values())
