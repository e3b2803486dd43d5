"""Dataset normalisation: whatever a component received, iterate it as batches or records.

A *record* is a dict. A *batch* is a list of records or a columnar ``pyarrow.RecordBatch`` /
``pyarrow.Table`` (DESIGN 13). A *dataset* is any of:

- ``None`` (nothing);
- a list or tuple of records, or of batches;
- an Arrow batch or table on its own;
- a sync iterator / generator whose items are records or batches (a stream from the engine);
- an async iterator of the same (only the ``a*`` variants accept it);
- a mapping of datasets (``{"eu": [...], "us": [...]}``, compare's output, a source's
  ``{"orders": [...]}``): its values are read in insertion order. A mapping whose values are
  not all datasets is a single record.

:class:`LabelledDatasets` is a mapping of datasets whose records come out with one more field
naming the key they were under (``compare`` returns one, so a destination that reads its raw
output writes ``{"_change": "added", ...}``).

Transforms and destinations read every member of ``upstream`` (definition order) or the
context keys named by their ``input`` option: :func:`select_inputs` picks them. Batches are
passed through as they are (no copy); only labelled records are copied.

``iter_batches(data, format=...)`` says which form the caller wants: ``"records"`` (the
default, lists of dicts, what every component written before Arrow expects), ``"arrow"``
(Arrow batches; lists of records are converted batch by batch) or ``None`` (each batch in the
form it arrived). pyarrow is imported only when an Arrow batch is met or asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Literal, TypeVar

Record = dict[str, Any]
Batch = list[Record]
T = TypeVar("T")

BatchFormat = Literal["arrow", "records"] | None
BATCH_FORMATS = ("arrow", "records")

__all__ = [
    "BATCH_FORMATS",
    "Batch",
    "BatchFormat",
    "LabelledDatasets",
    "Record",
    "aiter_batches",
    "aiter_input_batches",
    "aiter_records",
    "as_format",
    "batched",
    "count_records",
    "is_arrow",
    "is_dataset",
    "iter_batches",
    "iter_input_batches",
    "iter_records",
    "select_inputs",
    "unbatched",
]


class LabelledDatasets(dict[str, Any]):
    """A mapping of datasets whose records are labelled with their key in ``label_field``."""

    def __init__(self, *args: Any, label_field: str = "_change", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_field = label_field


def is_arrow(value: Any) -> bool:
    """True for a ``pyarrow.RecordBatch`` or ``pyarrow.Table`` (checked without importing
    pyarrow)."""
    kind = type(value)
    return kind.__module__.startswith("pyarrow") and kind.__name__ in ("RecordBatch", "Table")


def _is_stream(value: Any) -> bool:
    return isinstance(value, Iterator | AsyncIterator | AsyncIterable) or (
        isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping | list | tuple)
    )


def is_dataset(value: Any) -> bool:
    """True when ``value`` can be read as a dataset (a record on its own is not one)."""
    if value is None or is_arrow(value):
        return True
    if isinstance(value, list | tuple):
        return not value or isinstance(value[0], Mapping | list | tuple) or is_arrow(value[0])
    if isinstance(value, Mapping):
        return isinstance(value, LabelledDatasets) or _is_dataset_mapping(value)
    return _is_stream(value)


def _is_dataset_mapping(value: Mapping[Any, Any]) -> bool:
    """A mapping is a dict of datasets when every value is a dataset or None, one at least not None.

    An empty mapping holds nothing (it is not an empty record).
    """
    if isinstance(value, LabelledDatasets) or not value:
        return True
    values = [v for v in value.values() if v is not None]
    return bool(values) and all(is_dataset(v) for v in values)


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r:.60}"


def _chunks(records: list[Any], batch_size: int | None) -> Iterator[list[Any]]:
    if not batch_size or len(records) <= batch_size:
        if records:
            yield records
        return
    for start in range(0, len(records), batch_size):
        yield records[start : start + batch_size]


def _label(batch: Batch, field: str | None, value: str | None) -> Batch:
    if field is None:
        return batch
    return [{**record, field: value} for record in batch]


def _check_record(item: Any, where: str) -> Record:
    if not isinstance(item, Mapping):
        raise TypeError(f"{where}: expected a record (dict), got {_describe(item)}")
    return item if isinstance(item, dict) else dict(item)


def _arrow_chunks(batch: Any, batch_size: int | None) -> Iterator[Any]:
    rows = batch.num_rows
    if not rows:
        return
    if not batch_size or rows <= batch_size:
        yield batch
        return
    for start in range(0, rows, batch_size):
        yield batch.slice(start, batch_size)


def _sequence_batches(items: list[Any] | tuple[Any, ...], batch_size: int | None
                      ) -> Iterator[Any]:
    """A list of records, or a list of batches (decided item by item, records grouped)."""
    if not items:
        return
    if isinstance(items[0], dict) and isinstance(items[-1], dict):
        records = items if isinstance(items, list) else list(items)
        if all(type(item) is dict for item in records):
            yield from _chunks(records, batch_size)
            return
    yield from _stream_batches(iter(items), batch_size, "list")


def _stream_batches(items: Iterator[Any], batch_size: int | None, where: str) -> Iterator[Any]:
    pending: Batch = []
    for item in items:
        if isinstance(item, list | tuple) or is_arrow(item):
            if pending:
                yield from _chunks(pending, batch_size)
                pending = []
            if is_arrow(item):
                yield from _arrow_chunks(item, batch_size)
                continue
            batch = item if isinstance(item, list) else list(item)
            if batch and not isinstance(batch[0], dict):
                _check_record(batch[0], where)
            yield from _chunks(batch, batch_size)
        else:
            pending.append(_check_record(item, where))
            if batch_size and len(pending) >= batch_size:
                yield pending
                pending = []
    if pending:
        yield from _chunks(pending, batch_size)


def _check_format(format: Any) -> None:
    if format is not None and format not in BATCH_FORMATS:
        raise ValueError(f"format must be 'arrow', 'records' or None, got {format!r}")


def as_format(batch: Any, format: BatchFormat, label_field: str | None = None,
              label: str | None = None) -> Any:
    """One batch (a list of records or an Arrow batch) in ``format`` (None: as it is), with
    ``{label_field: label}`` added to every record when ``label_field`` is given."""
    if is_arrow(batch):
        if format == "records":
            return _label(batch.to_pylist(), label_field, label)
        if label_field is None:
            return batch
        import pyarrow as pa

        column = pa.array([label] * batch.num_rows, pa.string())
        if label_field in batch.schema.names:
            return batch.set_column(batch.schema.get_field_index(label_field), label_field,
                                    column)
        return batch.append_column(label_field, column)
    batch = _label(batch, label_field, label)
    if format == "arrow":
        import pyarrow as pa

        return pa.RecordBatch.from_pylist(batch)
    return batch


def iter_batches(
    data: Any,
    *,
    batch_size: int | None = None,
    label_field: str | None = None,
    label: str | None = None,
    format: BatchFormat = "records",
) -> Iterator[Any]:
    """Iterate any sync dataset as non-empty batches, in order.

    ``format`` is the form of the batches: ``"records"`` (the default: lists of dicts, Arrow
    batches converted one at a time), ``"arrow"`` (``pyarrow`` batches or tables; lists of
    records converted one at a time) or ``None`` (as they arrived). Batches that arrive as
    batches are passed through unchanged unless ``batch_size`` is given, in which case no
    batch is longer than it (loose records are grouped up to it). With ``label_field``, every
    record gets ``{label_field: label}`` added (records are copied).
    """
    _check_format(format)
    for batch in _raw_batches(data, batch_size, label_field, label):
        if type(batch) is list and format != "arrow":
            yield batch
        else:
            yield as_format(batch, format)


def _raw_batches(data: Any, batch_size: int | None, label_field: str | None,
                 label: str | None) -> Iterator[Any]:
    if data is None:
        return
    if is_arrow(data):
        for chunk in _arrow_chunks(data, batch_size):
            yield as_format(chunk, None, label_field, label)
        return
    if isinstance(data, Mapping):
        if not _is_dataset_mapping(data):
            yield _label([_check_record(data, "dataset")], label_field, label)
            return
        inner_field = data.label_field if isinstance(data, LabelledDatasets) else None
        for key, value in data.items():
            if value is None:
                continue
            if inner_field is not None:
                yield from _raw_batches(value, batch_size, inner_field, str(key))
            else:
                yield from _raw_batches(value, batch_size, label_field, label)
        return
    if isinstance(data, list | tuple):
        batches = _sequence_batches(data, batch_size)
    elif isinstance(data, AsyncIterator | AsyncIterable):
        raise TypeError(
            "an async iterator cannot be read synchronously; use aiter_batches() in a coroutine"
        )
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
        batches = _stream_batches(iter(data), batch_size, "stream")
    else:
        raise TypeError(f"expected a dataset (records, batches or a stream), got {_describe(data)}")
    for batch in batches:
        yield as_format(batch, None, label_field, label)


def iter_records(data: Any) -> Iterator[Record]:
    """Iterate any sync dataset record by record (Arrow batches become dicts one batch at a
    time)."""
    for batch in iter_batches(data):
        yield from batch


def count_records(data: Any) -> int:
    """Count the records (rows) of a dataset (a stream is consumed); Arrow batches are
    counted without being converted."""
    return sum(len(batch) for batch in iter_batches(data, format=None))


async def aiter_batches(
    data: Any,
    *,
    batch_size: int | None = None,
    label_field: str | None = None,
    label: str | None = None,
    format: BatchFormat = "records",
) -> AsyncIterator[Any]:
    """Like :func:`iter_batches`, also accepting async iterators (inside mappings too)."""
    _check_format(format)
    if isinstance(data, Mapping) and _is_dataset_mapping(data):
        inner_field = data.label_field if isinstance(data, LabelledDatasets) else None
        for key, value in data.items():
            if value is None:
                continue
            async for batch in aiter_batches(
                value,
                batch_size=batch_size,
                label_field=inner_field or label_field,
                label=str(key) if inner_field else label,
                format=format,
            ):
                yield batch
        return
    if isinstance(data, AsyncIterable):
        pending: Batch = []
        async for item in data:
            if isinstance(item, list | tuple) or is_arrow(item):
                if pending:
                    for chunk in _chunks(pending, batch_size):
                        yield as_format(chunk, format, label_field, label)
                    pending = []
                if is_arrow(item):
                    for chunk in _arrow_chunks(item, batch_size):
                        yield as_format(chunk, format, label_field, label)
                    continue
                for chunk in _chunks(list(item) if isinstance(item, tuple) else item, batch_size):
                    if chunk and not isinstance(chunk[0], dict):
                        _check_record(chunk[0], "stream")
                    yield as_format(chunk, format, label_field, label)
            else:
                pending.append(_check_record(item, "stream"))
                if batch_size and len(pending) >= batch_size:
                    yield as_format(pending, format, label_field, label)
                    pending = []
        for chunk in _chunks(pending, batch_size):
            yield as_format(chunk, format, label_field, label)
        return
    for batch in iter_batches(data, batch_size=batch_size, label_field=label_field, label=label,
                              format=format):
        yield batch


async def aiter_records(data: Any) -> AsyncIterator[Record]:
    """Like :func:`iter_records`, also accepting async iterators."""
    async for batch in aiter_batches(data):
        for record in batch:
            yield record


def select_inputs(
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: Iterable[str] | str | None = None,
) -> list[tuple[str, Any]]:
    """The datasets a transform or destination reads, as ``(name, dataset)`` pairs in order.

    With ``input`` (context keys, a list or a comma-separated string), those keys of
    ``context``; an absent key is a ``LookupError`` naming the available keys. Otherwise every
    member of ``upstream`` (alias -> raw value of the previous stage, definition order), minus
    members that returned ``None``. A value that is no dataset at all (a count, a string) is a
    ``TypeError`` naming it: it would otherwise be read as "no records".
    """
    if input:
        names = [n.strip() for n in input.split(",")] if isinstance(input, str) else list(input)
        ctx: Mapping[str, Any] = context or {}
        missing = [name for name in names if name not in ctx]
        if missing:
            keys = ", ".join(sorted(map(str, ctx))) or "none"
            raise LookupError(
                f"input {', '.join(map(repr, missing))} is not in the flow context; "
                f"available keys: {keys}"
            )
        return [(name, _dataset(name, ctx[name], "context key")) for name in names]
    if not upstream:
        return []
    return [(alias, _dataset(alias, value, "the output of"))
            for alias, value in upstream.items() if value is not None]


def _dataset(name: str, value: Any, what: str) -> Any:
    if value is None or isinstance(value, Mapping) or is_dataset(value):
        return value
    fix = ("name a key that holds records in `input`" if what == "context key" else
           f"have {name!r} return records, or name the keys to read with the `input` option")
    raise TypeError(f"{what} {name!r} is {_describe(value)}, not a dataset (records, batches "
                    f"or a stream), so there are no records to read from it; {fix}")


def iter_input_batches(
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: Iterable[str] | str | None = None,
    *,
    batch_size: int | None = None,
    format: BatchFormat = "records",
) -> Iterator[tuple[str, Any]]:
    """``(input name, batch)`` for every batch of every selected input, in order."""
    for name, data in select_inputs(upstream, context, input):
        for batch in iter_batches(data, batch_size=batch_size, format=format):
            yield name, batch


async def aiter_input_batches(
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: Iterable[str] | str | None = None,
    *,
    batch_size: int | None = None,
    format: BatchFormat = "records",
) -> AsyncIterator[tuple[str, Any]]:
    """Async :func:`iter_input_batches` (streams may be async iterators)."""
    for name, data in select_inputs(upstream, context, input):
        async for batch in aiter_batches(data, batch_size=batch_size, format=format):
            yield name, batch


# Grouping ------------------------------------------------------------------------------------

def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Group records into lists of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def unbatched(batches: Iterable[Any]) -> Iterator[Any]:
    """Flatten a stream of batches back into records; a non-list item passes as one record
    (an Arrow batch is made records)."""
    for item in batches:
        if isinstance(item, list):
            yield from item
        elif is_arrow(item):
            yield from item.to_pylist()
        else:
            yield item
