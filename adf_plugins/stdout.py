"""The `stdout` destination: print records as a table, JSON lines or a JSON array."""

import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal, TextIO

from adf_core import component
from adf_core.hookspecs import hookimpl
from adf_core.records import iter_batches, select_inputs
from adf_plugins._common import Written, dumps

FORMATS = ("table", "jsonl", "json")


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else value if isinstance(value, str) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(records: list[dict[str, Any]], out: TextIO, max_width: int) -> None:
    if not records:
        out.write("(no records)\n")
        return
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    names = list(columns)
    cells = [[_cell(r.get(c), max_width) for c in names] for r in records]
    widths = [
        max(len(_cell(name, max_width)), *(len(row[i]) for row in cells))
        for i, name in enumerate(names)
    ]
    numeric = [
        all(isinstance(r.get(c), int | float | Decimal) or r.get(c) is None for r in records)
        for c in names
    ]

    def line(values: list[str]) -> str:
        padded = (
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip() + "\n"

    out.write(line([_cell(n, max_width) for n in names]))
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row))
    out.write(f"({len(records)} record{'s' if len(records) != 1 else ''})\n")


def _encoded(batch: list[dict[str, Any]], name: str, before: int) -> list[str]:
    """The batch as JSON texts; a record that is no JSON (NaN, infinity, an unknown type)
    is a ValueError naming it by its number within input ``name``."""
    try:
        return list(map(dumps, batch))
    except (TypeError, ValueError):
        for number, record in enumerate(batch, start=before + 1):
            try:
                dumps(record)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"stdout: record {number} (input {name!r}) cannot be written "
                                 f"as JSON: {exc}") from None
        raise


def write_stdout(
    format: Literal["table", "jsonl", "json"] = "table",
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    limit: int | None = None,
    max_width: int = 40,
) -> Written:
    """Print records on standard output: an aligned table, JSON lines or a JSON array.

    `jsonl` and `json` stream batch by batch; `table` reads every record first to size the
    columns (it is meant for people: combine it with `limit` on large data). Reading
    compare's whole output prints each record with a `_change` field.

    Args:
        format: table, jsonl or json.
        input: context keys to print instead of every member of the previous stage.
        limit: print at most this many records (the rest of the input is still read).
        max_width: table cells longer than this are cut with an ellipsis.
    """
    fmt = format.lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    out = sys.stdout
    count = 0
    kept: list[dict[str, Any]] = []
    first = True
    for name, data in select_inputs(upstream, context, input):
        read = 0  # records of this input so far: errors number records within it
        for batch in iter_batches(data):
            if limit is not None:
                batch = batch[: max(limit - count, 0)]
            if not batch:
                continue
            count += len(batch)
            if fmt == "table":
                kept.extend(batch)
            elif fmt == "jsonl":
                out.write("\n".join(_encoded(batch, name, read)) + "\n")
            else:
                out.write(("[\n" if first else ",\n") + ",\n".join(_encoded(batch, name, read)))
            read += len(batch)
            first = False
    if fmt == "table":
        _table(kept, out, max(int(max_width), 2))
    elif fmt == "json":
        out.write("[]\n" if first else "\n]\n")
    out.flush()
    return Written("stdout", count)


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    return {"stdout": write_stdout}


# Built-ins run in this process whatever the flow's executor (DESIGN 11): this one writes to
# this process's stdout.
component(in_process=True)(write_stdout)
