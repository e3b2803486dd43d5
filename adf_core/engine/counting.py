"""Records, not batches: how many records a value holds, duck-typed and cheap.

A record is a row. A list counts its length, or, when it holds batches, the records of its
batches; a columnar batch (anything with an integer ``num_rows``: a ``pyarrow.RecordBatch``
or ``Table``) counts its rows, without the engine importing pyarrow; a dict of datasets (what
``split`` returns) counts the records of its datasets. A destination reports what it wrote by
returning an object with an integer ``records`` attribute (and, optionally,
``records_rejected``): the :class:`ReportsRecords` protocol.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ReportsRecords(Protocol):
    """What a component may return to say how many records it handled (e.g. ``Written``)."""

    records: int


def item_records(item: Any) -> int:
    """The records in one stream item: a batch counts its rows, anything else is one."""
    kind = type(item)
    if kind is dict:
        return 1
    if kind is list:
        return len(item)
    rows = getattr(item, "num_rows", None)
    return rows if type(rows) is int else 1


def dataset_records(value: Any) -> int | None:
    """The records of a dataset, or None when ``value`` is no dataset this can count without
    reading it (a scalar, a string, an iterator that would be consumed)."""
    if isinstance(value, list | tuple):
        if not value or type(value[0]) is dict:
            return len(value)
        return sum(item_records(item) for item in value)
    if isinstance(value, dict):
        total = None
        for inner in value.values():
            counted = dataset_records(inner) if isinstance(inner, list | tuple) \
                else _rows(inner)
            if counted is not None:
                total = (total or 0) + counted
        return total
    return _rows(value)


def _rows(value: Any) -> int | None:
    if value is None or isinstance(value, str | bytes | int | float):
        return None
    rows = getattr(value, "num_rows", None)
    return rows if type(rows) is int else None


def records_out(value: Any) -> tuple[int, int]:
    """``(records out, records rejected)`` of a component's return value."""
    if value is None:
        return 0, 0
    reported = None if isinstance(value, list | tuple | dict) else getattr(value, "records", None)
    if type(reported) is int:
        rejected = getattr(value, "records_rejected", 0)
        return reported, rejected if type(rejected) is int else 0
    return dataset_records(value) or 0, 0


def records_in(binding: Any, args: list[Any], kwargs: dict[str, Any],
               ctx: Any) -> int:
    """The records of the datasets a component was handed: the members of ``upstream`` (or,
    with the built-ins' ``input`` option, the context keys it names) and the parameters
    filled from the context. Streams are not counted here: their readers count what they
    consume."""
    total = 0
    if binding.wants_upstream:
        chosen = binding.constants.get("input")
        if chosen:
            keys = [k.strip() for k in chosen.split(",")] if isinstance(chosen, str) \
                else list(chosen)
            values: Any = [ctx.get(key) for key in keys if isinstance(key, str)]
        else:
            values = kwargs.get("upstream", {}).values()
        for value in values:
            total += dataset_records(value) or 0
    for name, _default in binding.lookups:
        if name in kwargs:
            total += dataset_records(kwargs[name]) or 0
    if binding.positional:
        for value in args:
            total += dataset_records(value) or 0
    return total
