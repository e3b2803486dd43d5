"""Write Arrow batches through a :class:`~adf_core.data.formats.RecordWriter`, vectorised.

Parquet batches go to a streaming ``ParquetWriter`` (gathered into row groups of
``ROW_GROUP_ROWS``, not one per batch); JSON lines, JSON and CSV are encoded column by column
(:mod:`adf_core.data.arrow.text`) and written as bytes. The output is byte for byte what the
dict writer writes for the same records. A batch the vectorised encoders do not take (a
non-UTF-8 encoding, a NaN in JSON, CSV columns other than the header's, a union CSV header)
is made records and written by the dict writer, whose rules and errors then apply; so is
every batch when a bad-record policy hands unwritable records to ``on_unwritable``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from adf_core.data.arrow.text import NotVectorised, csv_bytes, csv_header, jsonl_bytes

RecordWriter = Any  # adf_core.data.formats.RecordWriter, which imports this module

#: Rows gathered before a parquet row group is written.
ROW_GROUP_ROWS = 128 * 1024


class ParquetSink:
    """A ``ParquetWriter`` that gathers batches into row groups; ``write_table`` and
    ``close`` as the dict writer calls them."""

    def __init__(self, out: Any, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self.schema = schema
        self._writer = pq.ParquetWriter(out, schema)
        self._pending: list[Any] = []
        self._rows = 0

    def write_table(self, table: Any) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            tables = [pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t
                      for t in self._pending]
            # one contiguous chunk per column: batches sliced from a larger block would make
            # the writer walk the block's buffers once per slice
            table = pa.concat_tables(tables).combine_chunks()
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            self._pending, self._rows = [], 0

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
        writer._out.write(jsonl_bytes(batch))
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
