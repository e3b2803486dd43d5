"""Write Arrow batches through a :class:`~adf_core.data.formats.RecordWriter`, vectorised.

Parquet batches go to a streaming ``ParquetWriter`` (gathered into row groups of
``ROW_GROUP_ROWS`` or ``ROW_GROUP_BYTES``, not one per batch); JSON lines, JSON and CSV are
encoded column by column (:mod:`adf_core.data.arrow.text`) and written as bytes. The output
is byte for byte what the dict writer writes for the same records. A batch the vectorised
encoders do not take (a non-UTF-8 encoding, a NaN in JSON, CSV columns other than the
header's, a union CSV header) is made records and written by the dict writer, whose rules and
errors then apply; so is every batch when a bad-record policy hands unwritable records to
``on_unwritable``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from adf_core.data.arrow.text import NotVectorised, csv_bytes, csv_header, jsonl_bytes, jsonl_view

RecordWriter = Any  # adf_core.data.formats.RecordWriter, which imports this module

#: Rows gathered before a parquet row group is written. The writer holds a row group's
#: input and its encoded pages: at 128k rows, 39 MB of Arrow memory for the 6-column table of
#: benchmarks/etl.py, at 64k rows 12 MB (a stream's peak RSS is what this bounds). Larger
#: groups encode faster (a column's dictionary grows to its 1 MiB page limit in every group
#: before the writer gives it up: 128k-row groups took ~1.7x the CPU of 1M-row groups), but
#: flat memory is the promise: 1M-row groups put csv -> parquet at ~290 MB peak RSS.
ROW_GROUP_ROWS = 64 * 1024
#: ... or fewer, when the gathered batches hold this many bytes (wide rows).
ROW_GROUP_BYTES = 64 << 20
#: A column's dictionary is given up for plain encoding past this size (pyarrow's default is
#: 1 MiB). Every row group starts a new dictionary, and a high-cardinality column (an id, an
#: amount) was hashed into it until the limit: with 128 KiB, 64k-row groups write a 6-column
#: 1M-row table in less than half the CPU, into a smaller file (14.3 MB against 17.8 MB);
#: a low-cardinality column (a country) keeps its dictionary.
DICTIONARY_PAGE_BYTES = 128 << 10


def parquet_writer(out: Any, schema: pa.Schema) -> Any:
    """The ``ParquetWriter`` both parquet writers use (same encodings either way)."""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(out, schema, dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES)


class ParquetSink:
    """A ``ParquetWriter`` that gathers batches into row groups; ``write_table`` and
    ``close`` as the dict writer calls them. The batches are kept as they come (slices of
    the reader's blocks, not copied) until a row group is written."""

    def __init__(self, out: Any, schema: pa.Schema) -> None:
        self.schema = schema
        self._writer = parquet_writer(out, schema)
        self._pending: list[Any] = []
        self._rows = 0
        self._bytes = 0

    def write_table(self, table: Any) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        self._bytes += table.nbytes
        if self._rows >= ROW_GROUP_ROWS or self._bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            batches = [b for t in self._pending
                       for b in ((t,) if isinstance(t, pa.RecordBatch) else t.to_batches())]
            table = pa.Table.from_batches(batches, schema=self.schema)
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            self._pending, self._rows, self._bytes = [], 0, 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def _utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def write_arrow(writer: RecordWriter, batch: Any, where: str) -> None:
    """Write one Arrow batch from input ``where``."""
    rows = batch.num_rows
    if not rows:
        return
    base = writer.seen.get(where, 0)
    try:
        if getattr(writer, "on_unwritable", None) is not None:
            # a bad-record policy (on_error skip or dead_letter) judges record by record
            raise NotVectorised("bad-record policy")
        if writer.fmt == "parquet":
            _parquet(writer, batch, where, base)
        elif writer.fmt in ("jsonl", "json") and _utf8(writer.encoding):
            _json(writer, batch)
        elif writer.fmt == "csv" and _csv_fits(writer, batch):
            try:
                _csv(writer, batch)
            except (TypeError, ValueError):  # a nested value JSON cannot hold: the record
                raise NotVectorised("csv") from None  # writer names it (nothing written)
        else:
            raise NotVectorised(writer.fmt)
    except NotVectorised:
        writer.write(batch.to_pylist(), where)
        return
    writer.count += rows
    writer.seen[where] = base + rows


def _parquet(writer: RecordWriter, batch: Any, where: str, base: int) -> None:
    if writer._parquet is None:
        writer._schema = batch.schema
        writer._parquet = ParquetSink(writer._out, batch.schema)
    schema = writer._schema
    if batch.schema != schema:
        try:
            if set(batch.schema.names) == set(schema.names):
                batch = batch.select(schema.names)
            batch = batch.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError,
                ValueError) as exc:
            raise writer.phrases.error(
                f"{writer.target}: records {base + 1}-{base + batch.num_rows} ({where}) do "
                f"not fit the parquet schema of the first batch: {exc}") from None
    if isinstance(batch, pa.RecordBatch) and not isinstance(writer._parquet, ParquetSink):
        batch = pa.Table.from_batches([batch])  # the dict writer's (records came first)
    writer._parquet.write_table(batch)


def _json(writer: RecordWriter, batch: Any) -> None:
    if writer.fmt == "jsonl":
        writer._out.write(jsonl_view(batch))  # no copy of the encoded lines
        return
    data = jsonl_bytes(batch, ",\n")[:-2]
    writer._out.write((b",\n" if writer.count else b"[\n") + data)


def _csv_fits(writer: RecordWriter, batch: Any) -> bool:
    if writer._csv_header != "first" or not _utf8(writer.encoding):
        return False
    names = batch.schema.names
    if len(set(names)) != len(names):
        return False
    return writer._csv is None or names == list(writer._columns)


def _csv(writer: RecordWriter, batch: Any) -> None:
    import csv

    delimiter = writer._csv_options.delimiter
    text = writer._text_out()
    if writer._csv is None:
        writer._columns = dict.fromkeys(batch.schema.names)
        writer._csv = csv.writer(text, delimiter=delimiter, lineterminator="\n")
        text.write(csv_header(batch.schema.names, delimiter).decode())
    text.flush()
    writer._out.write(csv_bytes(batch, delimiter))
