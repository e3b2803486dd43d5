"""Record formats shared by every connector that reads or writes files or objects: csv,
jsonl (the default), json and parquet, over byte streams (optionally gzip-compressed).

Readers take a binary file object (an open file, an S3 response body) and yield records,
numbering them so that a bad one is reported by its source, record number and line. Writers
write batches of records to a binary file object (a temporary file that is renamed or
uploaded once complete). The ``file`` built-in and ``adf-plugin-s3`` both use them.

How an error is worded is the caller's choice: a :class:`Phrases` object builds each
exception (the ``file`` component's ``"orders.csv record 2 (line 3): ..."`` by default; the
s3 plugin phrases them as ``"s3://bucket/key: record 2: ..."``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any, cast

from adf_core.data.csv_rows import StrictCsvRows
from adf_core.data.encoding import csv_value, dumps
from adf_core.data.records import batched, is_arrow

Record = dict[str, Any]

FORMATS = ("csv", "jsonl", "json", "parquet")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
              ".parquet": "parquet", ".pq": "parquet"}
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "json": "application/json",
                 "parquet": "application/vnd.apache.parquet"}
TEXT_FORMATS = ("csv", "jsonl", "json")


class RecordError(ValueError):
    """A record (or a whole document) that cannot be read or written, naming where it is."""


def format_name(fmt: str, allowed: Iterable[str] = FORMATS) -> str:
    """A format name as given (``ndjson`` is ``jsonl``); an unknown one is a ValueError."""
    name = fmt.strip().lower().lstrip(".")
    if name == "ndjson":
        name = "jsonl"
    choices = tuple(allowed)
    if name not in choices:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(choices)}")
    return name


def format_of(name: str) -> str | None:
    """The format a file name's extension names (a ``.gz`` suffix aside), or None."""
    stem = name[:-3] if is_gzip(name) else name
    return EXTENSIONS.get(PurePath(stem).suffix.lower())


def is_gzip(name: str) -> bool:
    return name.lower().endswith(".gz")


def text_encoding(encoding: str) -> str:
    """UTF-8 is read as ``utf-8-sig``: a byte-order mark is stripped, not made part of the
    first column's name."""
    return "utf-8-sig" if encoding.lower().replace("-", "").replace("_", "") == "utf8" else encoding


def json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words (for "expected an object" errors)."""
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            type(None): "null"}.get(type(value), "number")


class Phrases:
    """How errors are worded: ``{source} record {n} (line {l}): {problem}``.

    A connector with other conventions subclasses it and passes an instance to the readers
    and writers (the s3 plugin does).
    """

    error: type[Exception] = RecordError

    def at(self, source: str, record: int | None, line: int | None, problem: str) -> Exception:
        where = source
        if record is not None:
            where += f" record {record}"
        if line is not None:
            where += f" (line {line})"
        return self.error(f"{where}: {problem}")

    def bad_json(self, source: str, record: int, line: int, exc: json.JSONDecodeError
                 ) -> Exception:
        return self.at(source, record, line, f"malformed JSON: {exc.msg} at column {exc.colno}")

    def not_object(self, source: str, record: int, line: int | None, value: Any) -> Exception:
        return self.at(source, record, line,
                       f"expected a JSON object, got {type(value).__name__}")

    def bad_document(self, source: str, exc: json.JSONDecodeError) -> Exception:
        return self.error(f"{source}: malformed JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}")

    def field_count(self, source: str, record: int, line: int, fields: int, header: int
                    ) -> Exception:
        return self.at(source, record, line, f"{fields} fields, the header has {header}")

    def undecodable(self, source: str, fmt: str, line: int | None, encoding: str,
                    exc: Exception) -> Exception:
        where = f" line {line}" if line is not None else ""
        return self.error(f"{source}{where}: cannot decode the {fmt} as {encoding}: {exc}; "
                          "set the `encoding` option (e.g. latin-1)")

    def unwritable(self, target: str, number: int, where: str, total: int, problem: str
                   ) -> Exception:
        """Record ``number`` of input ``where`` (``total`` in the whole output) cannot be
        written."""
        return self.error(f"{target}: record {number} ({where}) {problem}")


PHRASES = Phrases()


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvOptions:
    """How csv is read and written."""

    delimiter: str = ","
    infer_types: bool = True


def read_records(raw: IO[bytes], fmt: str, source: str, *, encoding: str = "utf-8",
                 compressed: bool = False, csv_options: CsvOptions = CsvOptions(),
                 phrases: Phrases = PHRASES) -> Iterator[Record]:
    """Yield the records of one csv, jsonl or json document, streaming (json arrays are
    parsed whole)."""
    import gzip  # here: the CLI imports this module and should not pay for zlib

    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if compressed else raw
    text = io.TextIOWrapper(binary, encoding=text_encoding(encoding), newline="")
    lines = _LineCounter(text)
    try:
        if fmt == "jsonl":
            yield from _read_jsonl(lines, source, phrases)
        elif fmt == "csv":
            yield from _read_csv(lines, source, csv_options, phrases)
        elif fmt == "json":
            yield from _read_json(text, source, phrases)
        else:
            raise ValueError(f"{source}: {fmt} is not a text format")
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
        raise phrases.undecodable(source, fmt, lines.number + 1 if fmt != "json" else None,
                                  encoding, exc) from exc
    finally:
        text.detach()


def read_batches(raw: IO[bytes], fmt: str, source: str, batch_size: int, **options: Any
                 ) -> Iterator[list[Record]]:
    """The records of one document in batches of ``batch_size`` (parquet: read
    ``batch_size`` rows at a time; the text options do not apply to it).

    When the run moves Arrow (DESIGN 13) and no bad-record handler is given, the batches are
    Arrow, read by :mod:`adf_core.data.arrow.reading` (same values, same errors)."""
    if options.get("on_bad") is None and _arrow_reads(raw, fmt, options):
        from adf_core.data.arrow.reading import read_arrow_batches

        yield from read_arrow_batches(raw, fmt, source, batch_size, read_records, **options)
        return
    if fmt == "parquet":
        yield from read_parquet(raw, batch_size)
        return
    yield from batched(read_records(raw, fmt, source, **options), batch_size)


def _arrow_reads(raw: IO[bytes], fmt: str, options: dict[str, Any]) -> bool:
    from adf_core.data.arrow import arrow_enabled

    if not arrow_enabled():
        return False
    from adf_core.data.arrow.reading import can_read

    return can_read(raw, fmt, options.get("encoding", "utf-8"))


class _LineCounter:
    """Iterates the lines of a text stream, knowing how many it has handed out."""

    __slots__ = ("_text", "number")

    def __init__(self, text: Iterable[str]) -> None:
        self._text = text
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._text:
            self.number += 1
            yield line


def _read_jsonl(lines: Iterable[str], source: str, phrases: Phrases) -> Iterator[Record]:
    loads = json.loads
    number = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            raise phrases.bad_json(source, number, line_number, exc) from None
        if not isinstance(record, dict):
            raise phrases.not_object(source, number, line_number, record)
        yield record


def _read_csv(lines: Iterable[str], source: str, options: CsvOptions, phrases: Phrases
              ) -> Iterator[Record]:
    reader = StrictCsvRows(lines, options.delimiter, source, phrases)
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    number = 0
    infer = options.infer_types
    for row in reader:
        if not row:
            continue
        number += 1
        if len(row) != width:
            raise phrases.field_count(source, number, reader.line_num, len(row), width)
        if infer:
            yield dict(zip(header, map(csv_value, row), strict=True))
        else:
            yield dict(zip(header, row, strict=True))


def _read_json(text: IO[str], source: str, phrases: Phrases) -> Iterator[Record]:
    try:
        document = json.load(text)
    except json.JSONDecodeError as exc:
        raise phrases.bad_document(source, exc) from None
    records = document if isinstance(document, list) else [document]
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise phrases.not_object(source, number, None, record)
    yield from records


def read_parquet(raw: IO[bytes] | str, batch_size: int) -> Iterator[list[Record]]:
    pq = _parquet()
    for chunk in pq.ParquetFile(raw).iter_batches(batch_size=batch_size):
        yield chunk.to_pylist()


def _parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "parquet needs pyarrow: pip install 'adf-core[parquet]'") from None
    return pq


# -- writing ------------------------------------------------------------------------------


class RecordWriter:
    """Writes batches of records in one format to a binary file; ``close`` finishes it.

    csv takes its header from the first record (a later record with other fields is an
    error naming it), unless ``csv_header="union"``: then the records are first spooled as
    jsonl to ``scratch`` while every column is collected (first-seen order), and converted on
    ``close``. Errors number records within their input (``where``).
    """

    def __init__(self, out: IO[bytes], fmt: str, target: str, *, encoding: str = "utf-8",
                 compressed: bool = False, csv_options: CsvOptions = CsvOptions(),
                 csv_header: str = "first", scratch: IO[bytes] | None = None,
                 phrases: Phrases = PHRASES) -> None:
        if csv_header not in ("first", "union"):
            raise ValueError(f"csv_header must be 'first' or 'union', not {csv_header!r}")
        if fmt == "csv" and csv_header == "union" and scratch is None:
            raise ValueError("csv_header='union' needs a scratch file")
        self.fmt = fmt
        self.target = target
        self.encoding = encoding
        self.phrases = phrases
        self.count = 0
        self.seen: dict[str, int] = {}  # records written per input: errors number within it
        self._gzip: Any = None
        if compressed:
            import gzip

            self._gzip = gzip.GzipFile(fileobj=out, mode="wb")
        self._out = cast(IO[bytes], self._gzip) if self._gzip is not None else out
        self._csv_options = csv_options
        self._csv_header = csv_header
        self._scratch = scratch
        self._columns: dict[str, None] = {}
        self._text: io.TextIOWrapper | None = None
        self._csv: Any = None
        self._parquet: Any = None
        self._schema: Any = None

    def write(self, batch: list[Record], where: str = "input") -> None:
        """Write one batch of records (a list of dicts or an Arrow batch) from the input
        called ``where``."""
        if is_arrow(batch):
            from adf_core.data.arrow.writing import write_arrow

            write_arrow(self, batch, where)
            return
        if not batch:
            return
        base = self.seen.get(where, 0)
        if self.fmt in ("jsonl", "json") or (self.fmt == "csv" and self._csv_header == "union"):
            self._write_json_lines(batch, where, base)
        elif self.fmt == "csv":
            self._write_csv(batch, where, base)
        else:
            self._write_parquet(batch, where, base)
        self.count += len(batch)
        self.seen[where] = base + len(batch)

    def _write_json_lines(self, batch: list[Record], where: str, base: int) -> None:
        try:
            text = (",\n" if self.fmt == "json" else "\n").join(map(dumps, batch))
        except (TypeError, ValueError):
            self._find_unwritable(batch, where, base)
            raise
        if self.fmt == "csv":  # union header: spool, convert on close
            for record in batch:
                self._columns.update(dict.fromkeys(record))
            assert self._scratch is not None
            self._scratch.write(text.encode("utf-8") + b"\n")
            return
        data = text.encode(self.encoding)
        if self.fmt == "jsonl":
            self._out.write(data + b"\n")
        else:
            self._out.write((b",\n" if self.count else b"[\n") + data)

    def _find_unwritable(self, batch: list[Record], where: str, base: int) -> None:
        for offset, record in enumerate(batch, start=1):
            try:
                dumps(record)
            except (TypeError, ValueError) as exc:
                raise self.phrases.unwritable(
                    self.target, base + offset, where, self.count + offset,
                    f"cannot be written as JSON: {exc}") from None

    def _text_out(self) -> io.TextIOWrapper:
        if self._text is None:
            self._text = io.TextIOWrapper(self._out, encoding=self.encoding, newline="")
        return self._text

    def _write_csv(self, batch: list[Record], where: str, base: int) -> None:
        if self._csv is None:
            self._columns = dict.fromkeys(batch[0])
            self._csv = csv.writer(self._text_out(), delimiter=self._csv_options.delimiter,
                                   lineterminator="\n")
            self._csv.writerow(self._columns)
        fields = list(self._columns)
        known = self._columns.keys()
        rows = []
        for offset, record in enumerate(batch, start=1):
            if record.keys() - known:
                extra = ", ".join(sorted(map(str, record.keys() - known)))
                raise self.phrases.unwritable(
                    self.target, base + offset, where, self.count + offset,
                    f"has fields the CSV header (from the first record) lacks: {extra}")
            rows.append([csv_cell(record.get(f)) for f in fields])
        self._csv.writerows(rows)

    def _write_parquet(self, batch: list[Record], where: str, base: int) -> None:
        pq = _parquet()
        import pyarrow as pa

        try:
            table = pa.Table.from_pylist(batch, schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as exc:
            raise self.phrases.error(
                f"{self.target}: records {base + 1}-{base + len(batch)} ({where}) do not fit "
                f"the parquet schema of the first batch: {exc}") from None
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self._out, self._schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        """Finish the document (json's closing bracket, csv's spooled rows, parquet's
        footer, gzip's trailer). The file object itself stays open."""
        if self.fmt == "json":
            self._out.write(b"\n]\n" if self.count else b"[]\n")
        elif self.fmt == "csv" and self._csv_header == "union":
            self._convert_spooled_csv()
        elif self.fmt == "parquet" and self._parquet is not None:
            self._parquet.close()
        if self._text is not None:
            self._text.flush()
            self._text.detach()
            self._text = None
        if self._gzip is not None:
            self._gzip.close()

    def _convert_spooled_csv(self) -> None:
        writer = csv.DictWriter(self._text_out(), fieldnames=list(self._columns),
                                delimiter=self._csv_options.delimiter, lineterminator="\n")
        if self._columns:
            writer.writeheader()
        assert self._scratch is not None
        self._scratch.seek(0)
        for line in self._scratch:
            writer.writerow({k: csv_cell(v) for k, v in json.loads(line).items()})


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: null is empty, objects and arrays are JSON."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value)
    return value
