"""Built-in transforms: merge, split, filter, compare.

Each reads every member of ``upstream`` (definition order) or the context keys named by its
``input`` option, whatever their shape (lists, streams of records or batches, dicts of datasets).
"""

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from adf_core import component
from adf_core.data.arrow import moved_format
from adf_core.hookspecs import hookimpl
from adf_core.records import LabelledDatasets, is_arrow, iter_batches, select_inputs
from adf_plugins import checks

Record = dict[str, Any]


def _keys(key: list[str] | str | None) -> list[str]:
    if key is None:
        return []
    if isinstance(key, str):
        return [k.strip() for k in key.split(",") if k.strip()]
    return list(key)


def _key_getter(fields: list[str], where: str) -> Callable[[Record, int], Any]:
    def get(record: Record, number: int) -> Any:
        try:
            if len(fields) == 1:
                return record[fields[0]]
            return tuple(record[f] for f in fields)
        except KeyError as exc:
            raise KeyError(
                f"record {number} of {where} has no key field {exc.args[0]!r} "
                f"(fields: {', '.join(record)})"
            ) from None
        except TypeError:
            raise TypeError(f"record {number} of {where} is not a record: {record!r:.80}") from None

    return get


def merge(
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    on: list[str] | None = None,
    batch_size: int = 1000,
) -> Iterator[list[Record]]:
    """Concatenate every input in definition order; with `on`, join records by key.

    Without `on` the records stream through in batches (nothing is held in memory). With `on`,
    records that share the key are combined into one (a full outer join: fields of later
    inputs overwrite earlier ones), in the order their key first appeared; this holds the
    joined records in memory.

    Args:
        input: context keys to read instead of every member of the previous stage.
        on: key field(s) to join on (comma-separated on the command line).
        batch_size: records per emitted batch when joining.
    """
    inputs = select_inputs(upstream, context, input)
    fields = _keys(on)
    if not fields:
        for _name, data in inputs:
            yield from iter_batches(data, format=moved_format())
        return
    joined: dict[Any, Record] = {}
    for name, data in inputs:
        get_key = _key_getter(fields, f"input {name!r}")
        number = 0
        for batch in iter_batches(data):
            for record in batch:
                number += 1
                key = get_key(record, number)
                found = joined.get(key)
                if found is None:
                    joined[key] = dict(record)
                else:
                    found.update(record)
    records = list(joined.values())
    for start in range(0, len(records), max(batch_size, 1)):
        yield records[start : start + batch_size]


@component(routes=True)
def split(
    by: str,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    default: str | None = None,
    prefix: str = "",
) -> dict[str, list[Record]]:
    """Route records into context keys named by the value of one field.

    Returns ``{value: [records]}``, merged into the flow context, so that each destination can
    read its part with `input` (`-o eu.input=EU`). Keys are the field's values as strings.

    Args:
        by: the field whose value names the context key of each record.
        input: context keys to read instead of every member of the previous stage.
        default: key for records without the field (without it, such a record is an error).
        prefix: prepended to every key (`prefix=region_` gives `region_EU`).
    """
    parts: dict[str, list[Any]] = {}
    for name, data in select_inputs(upstream, context, input):
        number = 0
        for batch in iter_batches(data, format=moved_format()):
            if is_arrow(batch):  # columnar (DESIGN 13): the parts are lists of Arrow batches
                from adf_plugins.transforms_arrow import split_batch

                split_batch(batch, by, default, prefix, name, number, parts)
                number += len(batch)
                continue
            for record in batch:
                number += 1
                value = record.get(by)
                if value is None:
                    if default is None:
                        raise KeyError(
                            f"record {number} of input {name!r} has no value for {by!r}; "
                            f"set the `default` option to route such records"
                        )
                    value = default
                parts.setdefault(f"{prefix}{value}", []).append(record)
    return parts


@component(check=checks.condition)
def filter_records(
    where: str,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
) -> Iterator[list[Record]]:
    """Keep the records that match a condition (a small language, never `eval`).

    Example: `amount > 100 and status == "paid"`. Fields are bare names (`field("a b")` for
    other names); literals are numbers, strings, true/false/null and lists; operators are
    `== != < <= > >= in, not in, and, or, not, + - * / %` and parentheses. Missing fields are
    null, and ordering comparisons with null are false. Calls, attribute access and
    subscripts are rejected before any record is read.

    Args:
        where: the condition each kept record satisfies.
        input: context keys to read instead of every member of the previous stage.
    """
    from adf_plugins.conditions import ConditionError, compile_condition, condition_fields

    predicate = compile_condition(where)
    mask = _arrow_mask(where)
    for name, data in select_inputs(upstream, context, input):
        number = 0
        unseen = FieldsSeen(condition_fields(where))
        for batch in iter_batches(data, format=moved_format()):
            if unseen:
                unseen.look(batch)
            if is_arrow(batch):  # columnar (DESIGN 13): pyarrow.compute over the batch
                from adf_plugins.transforms_arrow import filter_batch

                kept_rows = filter_batch(batch, mask, predicate, name, number)
                number += len(batch)
                if len(kept_rows):
                    yield kept_rows
                continue
            try:
                kept = [record for record in batch if predicate(record)]
            except ConditionError as exc:
                for offset, record in enumerate(batch, start=1):
                    try:
                        predicate(record)
                    except ConditionError:
                        raise ConditionError(
                            f"record {number + offset} of input {name!r}: {exc}"
                        ) from None
                raise
            number += len(batch)
            if kept:
                yield kept
        if unseen and number:
            unseen.warn(where, name)


class FieldsSeen:
    """The fields of a condition no record of an input has had so far: once one appears it
    is not looked for again, so the check costs nothing after the first records."""

    __slots__ = ("fields", "names")

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        self.names: dict[str, None] = {}

    def __bool__(self) -> bool:
        return bool(self.fields)

    def look(self, batch: Any) -> None:
        collect = len(self.names) < 200  # names for the "did you mean": the first ones do
        if is_arrow(batch):  # a columnar batch: its columns are its fields
            columns = list(batch.schema.names)
            if collect:
                self.names.update(dict.fromkeys(columns))
            self.fields = [f for f in self.fields if f not in columns]
            return
        for record in batch:
            if isinstance(record, Mapping):
                if collect:
                    self.names.update(dict.fromkeys(record))
                if any(f in record for f in self.fields):
                    self.fields = [f for f in self.fields if f not in record]
                    if not self.fields:
                        return

    def warn(self, where: str, input: str) -> None:
        """A data warning naming each field no record had, with the closest field name."""
        from adf_core import warn
        from adf_core.text import did_you_mean

        for field in self.fields:
            warn(f"the condition {where!r} names the field {field!r}, which no record of "
                 f"input {input!r} has: every record compares it as null"
                 f"{did_you_mean(field, [str(n) for n in self.names])}",
                 field=field, input=input)


def _arrow_mask(where: str) -> Any:
    if moved_format() is not None:
        return None
    from adf_plugins.conditions_arrow import Unsupported, compile_arrow

    try:
        return compile_arrow(where)
    except Unsupported:
        return lambda batch: (_ for _ in ()).throw(Unsupported(where))


@component(returns=("added", "removed", "changed"))
def compare(
    key: list[str],
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    fields: list[str] | None = None,
) -> LabelledDatasets:
    """Diff exactly two inputs (first = source, second = target) by key.

    Returns ``{"added": [...], "removed": [...], "changed": [...]}``, merged into the flow
    context (so `-o out.input=changed` writes one kind). `added` holds source records whose key
    is not in the target, `removed` target records whose key is not in the source, `changed`
    the source version of records whose compared fields differ (numbers compare by value
    across types, so a NUMERIC 1.10 equals a DOUBLE 1.1). A destination that reads
    compare's output as a whole (its `upstream`) writes every record with one more field,
    `_change`, naming its kind.

    Args:
        key: key field(s) identifying a record in both inputs (comma-separated on the CLI).
        input: the two context keys to compare instead of the two members of the previous stage.
        fields: fields to compare (default: every field of the source record but the key).
    """
    inputs = select_inputs(upstream, context, input)
    if len(inputs) != 2:
        names = ", ".join(repr(n) for n, _ in inputs) or "none"
        raise ValueError(
            f"compare needs exactly two inputs (source, target), got {len(inputs)}: {names}"
        )
    key_fields = _keys(key)
    if not key_fields:
        raise ValueError("compare needs a `key` option naming the key field(s)")
    compared = _keys(fields) or None
    (source_name, source), (target_name, target) = inputs
    if moved_format() is None:  # columnar (DESIGN 13): a join in Arrow when the keys allow
        from adf_plugins.transforms_arrow import compare_tables

        source = list(iter_batches(source, format=None))
        target = list(iter_batches(target, format=None))
        if all(is_arrow(b) for b in (*source, *target)):
            tables = compare_tables(source, target, key_fields, compared)
            if tables is not None:
                return LabelledDatasets(tables)
    target_by_key: dict[Any, Record] = {}
    get_target = _key_getter(key_fields, f"input {target_name!r}")
    number = 0
    for batch in iter_batches(target):
        for record in batch:
            number += 1
            target_by_key[get_target(record, number)] = record
    added: list[Record] = []
    changed: list[Record] = []
    get_source = _key_getter(key_fields, f"input {source_name!r}")
    number = 0
    for batch in iter_batches(source):
        for record in batch:
            number += 1
            k = get_source(record, number)
            other = target_by_key.pop(k, _MISSING)
            if other is _MISSING:
                added.append(record)
                continue
            names = compared or [f for f in record if f not in key_fields]
            if any(_differ(record.get(f), other.get(f)) for f in names):
                changed.append(record)
    removed = list(target_by_key.values())
    return LabelledDatasets(added=added, removed=removed, changed=changed)


_MISSING: Any = object()


def _differ(a: Any, b: Any) -> bool:
    """Values differ; numbers compare by value across types (NUMERIC 1.10 == DOUBLE 1.1)."""
    if a == b:
        return False
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool | type(b)):
        try:
            return float(a) != float(b)
        except (OverflowError, ValueError):
            return True
    return True


# The CLI name of filter_records is "filter" (a Python function cannot shadow the builtin here).
filter_records.__name__ = "filter"


@hookimpl
def adf_transforms() -> dict[str, Callable[..., Any]]:
    return {"merge": merge, "split": split, "filter": filter_records, "compare": compare}


# Built-ins run in this process whatever the flow's executor (DESIGN 11): they stream, join a
# commit group or move records that would cost more to pickle than to process.
for _builtin in (merge, split, filter_records, compare):
    component(in_process=True)(_builtin)
