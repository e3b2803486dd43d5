"""A component parameter's annotation decides the form of the data it receives (DESIGN 13).

A parameter annotated ``pyarrow.RecordBatch`` or ``pyarrow.Table`` receives Arrow (a dataset
of records is converted); one annotated with a record type (``list[dict]``,
``Iterable[dict]``, ``Iterator[dict]``, ``Sequence[dict]``, optionally ``| None``) receives
dicts (every Arrow batch in it is converted, the rest is passed as it is). Anything else
gets what flows. Annotations may be strings (``from __future__ import annotations``).
pyarrow is imported only when an Arrow value is met or asked for.
"""

from __future__ import annotations

import collections.abc as abc
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from adf_core.data.records import LabelledDatasets, is_arrow, iter_batches

Adapter = Callable[[Any], Any]

_ARROW_TEXT = re.compile(r"^(?:(?:pyarrow|pa)\.)?(RecordBatch|Table)$")
_RECORDS_TEXT = re.compile(
    r"^(?:(?:typing|collections\.abc|abc)\.)?(?:list|List|Iterable|Iterator|Sequence)"
    r"\[(?:dict|Dict|Record|Mapping|(?:typing\.)?(?:Dict|Mapping))\b")
_SEQUENCES = (list, abc.Iterable, abc.Iterator, abc.Sequence)


def adapter_for(annotation: Any) -> Adapter | None:
    """The conversion a parameter with this annotation needs, or None (it gets what flows)."""
    if annotation is None or annotation is typing.Any:
        return None
    if isinstance(annotation, str):
        return _adapter_for_text(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        found = [a for a in map(adapter_for, typing.get_args(annotation)) if a is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(annotation, type):
        kind = annotation.__module__.startswith("pyarrow") and annotation.__name__
        return _TO_ARROW.get(kind) if isinstance(kind, str) else None
    if origin in _SEQUENCES:
        args = typing.get_args(annotation)
        if args and (args[0] is dict or typing.get_origin(args[0]) in (dict, abc.Mapping)
                     or args[0] is abc.Mapping):
            return to_records
    return None


def _adapter_for_text(text: str) -> Adapter | None:
    parts = [p.strip() for p in text.replace("Optional[", "").rstrip("]").split("|")] \
        if text.startswith("Optional[") else [p.strip() for p in text.split("|")]
    found: list[Adapter] = []
    for part in parts:
        if part == "None":
            continue
        arrow = _ARROW_TEXT.match(part)
        if arrow:
            found.append(_TO_ARROW[arrow.group(1)])
        elif _RECORDS_TEXT.match(part):
            found.append(to_records)
        else:
            return None
    return found[0] if len(found) == 1 else None


def _holds_arrow(value: Any) -> bool:
    if is_arrow(value):
        return True
    if isinstance(value, list | tuple):
        return any(is_arrow(item) for item in value)
    if isinstance(value, Mapping):
        return any(_holds_arrow(item) for item in value.values())
    return False


def to_records(value: Any) -> Any:
    """``value`` with every Arrow batch made a list of dicts, keeping its shape (a list of
    batches stays one; a stream is converted item by item as it is read)."""
    if value is None or isinstance(value, str | bytes):
        return value
    if is_arrow(value):
        return value.to_pylist()
    if isinstance(value, list | tuple):
        if not _holds_arrow(value):
            return value
        return [item.to_pylist() if is_arrow(item) else item for item in value]
    if isinstance(value, Mapping):
        if not _holds_arrow(value):
            return value
        converted = {key: to_records(item) for key, item in value.items()}
        if isinstance(value, LabelledDatasets):
            return LabelledDatasets(converted, label_field=value.label_field)
        return converted
    if isinstance(value, Iterator):
        return _records_stream(value)
    return value


def _records_stream(items: Iterator[Any]) -> Iterator[Any]:
    for item in items:
        yield item.to_pylist() if is_arrow(item) else item


def to_table(value: Any) -> Any:
    """A dataset as one ``pyarrow.Table`` (batches of records are converted one at a time;
    batches whose types differ are unified)."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    tables = [pa.Table.from_batches([b]) if isinstance(b, pa.RecordBatch) else b
              for b in iter_batches(value, format="arrow")]
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def to_record_batch(value: Any) -> Any:
    """A dataset as one ``pyarrow.RecordBatch``."""
    import pyarrow as pa

    if isinstance(value, pa.RecordBatch):
        return value
    table = to_table(value).combine_chunks()
    batches = table.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)


_TO_ARROW: dict[str, Adapter] = {"RecordBatch": to_record_batch, "Table": to_table}
