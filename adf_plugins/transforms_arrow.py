"""``filter``, ``split`` and ``compare`` over Arrow batches with ``pyarrow.compute``.

Each gives the records the dict path gives, in the same order (tests run the same flows both
ways). Where Arrow cannot reproduce a Python rule exactly (a condition comparing values of
different kinds, duplicate or null keys in ``compare``) the batch or the input is handled by
the dict path instead, so results and error messages do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from adf_core.data.arrow.text import csv_column


def filter_batch(batch: Any, mask: Callable[[Any], Any], predicate: Callable[[Any], bool],
                 name: str, number: int) -> Any:
    """The rows of ``batch`` that match: by Arrow mask, or record by record when the
    condition is not expressible on this batch (an error names the record as the dict path
    does; ``number`` records of input ``name`` came before this batch)."""
    from adf_plugins.conditions import ConditionError
    from adf_plugins.conditions_arrow import Unsupported

    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else batch
    try:
        keep = mask(batch)
    except Unsupported:
        flags = []
        for offset, record in enumerate(batch.to_pylist(), start=1):
            try:
                flags.append(predicate(record))
            except ConditionError as exc:
                raise ConditionError(f"record {number + offset} of input {name!r}: {exc}"
                                     ) from None
        keep = pa.array(flags, pa.bool_())
    if isinstance(keep, pa.ChunkedArray):
        keep = keep.combine_chunks()
    if keep.true_count == len(batch):
        return batch  # every row matches: the batch itself, not a copy of it
    return batch.filter(keep)


def split_batch(batch: Any, by: str, default: str | None, prefix: str, name: str,
                number: int, parts: dict[str, list[Any]]) -> None:
    """Add the rows of ``batch`` to ``parts`` under ``prefix + str(value of by)``."""
    index = batch.schema.get_field_index(by)
    if index < 0:
        values = pa.nulls(batch.num_rows, pa.string())
    else:
        column = batch.column(index)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        values = pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()),
                            csv_column(column))
    if values.null_count:
        if default is None:
            first = pc.index(pc.is_null(values), True).as_py()
            raise KeyError(f"record {number + first + 1} of input {name!r} has no value for "
                           f"{by!r}; set the `default` option to route such records")
        values = pc.fill_null(values, default)
    for value in pc.unique(values).to_pylist():
        parts.setdefault(f"{prefix}{value}", []).append(batch.filter(pc.equal(values, value)))


def _table(batches: list[Any]) -> pa.Table:
    tables = [pa.Table.from_batches([b]) if isinstance(b, pa.RecordBatch) else b
              for b in batches]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def compare_tables(source_batches: list[Any], target_batches: list[Any], keys: list[str],
                   fields: list[str] | None) -> dict[str, pa.Table] | None:
    """``{"added", "removed", "changed"}`` as Arrow tables, or None when the dict path must
    decide (a key missing, null or repeated; inputs with no rows)."""
    if not source_batches or not target_batches:
        return None
    source, target = _table(source_batches), _table(target_batches)
    for table in (source, target):
        if any(k not in table.schema.names for k in keys):
            return None
        if any(table.column(k).null_count for k in keys):
            return None
        if table.group_by(keys).aggregate([]).num_rows != table.num_rows:
            return None
    compared = fields or [f for f in source.schema.names if f not in keys]
    if any(f not in source.schema.names for f in compared):
        return None
    s_row, t_row = "__adf_source_row", "__adf_target_row"
    left = source.select(keys).append_column(s_row, pa.array(range(source.num_rows)))
    right = target.select(keys).append_column(t_row, pa.array(range(target.num_rows)))
    try:
        pairs = left.join(right, keys=keys, join_type="inner", use_threads=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None  # keys of different types: Python tells them apart, so does the dict path
    pairs = pairs.sort_by(s_row)
    s_idx, t_idx = pairs.column(s_row), pairs.column(t_row)
    matched_s = pc.is_in(pa.array(range(source.num_rows)), value_set=s_idx.combine_chunks())
    matched_t = pc.is_in(pa.array(range(target.num_rows)), value_set=t_idx.combine_chunks())
    differs = pa.array([False] * pairs.num_rows, pa.bool_())
    for field in compared:
        a = source.column(field).take(s_idx)
        if field in target.schema.names:
            b = target.column(field).take(t_idx)
        else:
            b = pa.nulls(pairs.num_rows, a.type)
        differs = pc.or_(differs, _differ(a.combine_chunks(), b.combine_chunks()))
    changed_rows = pc.filter(s_idx, differs)
    return {"added": source.filter(pc.invert(matched_s)),
            "removed": target.filter(pc.invert(matched_t)),
            "changed": source.take(changed_rows)}


def _numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind))


def _differ(a: pa.Array, b: pa.Array) -> pa.Array:
    """``adf_plugins.transforms._differ`` per row: null equals null, numbers compare by value
    across types (as floats), values of other different types differ."""
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    one_null = pc.xor(pc.is_null(a), pc.is_null(b))
    if pa.types.is_null(a.type) or pa.types.is_null(b.type):
        return pc.invert(both_null)
    if a.type != b.type:
        if _numeric(a.type) and _numeric(b.type):
            a, b = pc.cast(a, pa.float64()), pc.cast(b, pa.float64())
        else:
            return pc.invert(both_null)
    equal = pc.fill_null(pc.equal(a, b), False)
    return pc.or_(one_null, pc.and_(pc.invert(equal), pc.invert(both_null)))


def batches_of(data: Any) -> Iterator[Any]:
    from adf_core.records import iter_batches

    yield from iter_batches(data, format=None)
