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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any, cast

from adf_core.data.csv_rows import StrictCsvRows
from adf_core.data.encoding import csv_value, dumps
from adf_core.data.records import batched, is_arrow

Record = dict[str, Any]
#: ``on_bad(raw, error, place)``: a reader hands it what it cannot parse (the raw line, or
#: the element of a json array) and its place (``{"line": 4}``, ``{"record": 2}`` in a json
#: array), and reads on; it may raise to stop the read.
OnBadLine = Callable[[Any, Exception, dict[str, int]], None]
#: ``on_unwritable(record, error, number, where)``: a writer hands it a record it cannot
#: write (``number`` within its input ``where``) and writes the others.
OnUnwritable = Callable[[Record, Exception, int, str], None]

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
                 phrases: Phrases = PHRASES, on_bad: OnBadLine | None = None
                 ) -> Iterator[Record]:
    """Yield the records of one csv, jsonl or json document, streaming (json arrays are
    parsed whole).

    Without ``on_bad`` the first line that cannot be parsed (or decoded) raises. With it,
    each such line goes to ``on_bad`` and the read goes on (see
    :mod:`adf_core.data.bad_lines`): a line that cannot be decoded is dropped alone.
    """
    import gzip  # here: the CLI imports this module and should not pay for zlib

    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if compressed else raw
    if on_bad is not None and fmt != "json":
        try:
            yield from _read_tolerant(binary, fmt, source, encoding, csv_options, phrases,
                                      on_bad)
        except (gzip.BadGzipFile, EOFError) as exc:
            raise phrases.undecodable(source, fmt, None, encoding, exc) from exc
        return
    counted = _NewlineCounting(binary)
    text = io.TextIOWrapper(cast(IO[bytes], counted), encoding=text_encoding(encoding),
                            newline="")
    lines = _LineCounter(text)
    try:
        if fmt == "jsonl":
            yield from _read_jsonl(lines, source, phrases)
        elif fmt == "csv":
            yield from _read_csv(lines, source, csv_options, phrases)
        elif fmt == "json":
            yield from _read_json(text, source, phrases, on_bad)
        else:
            raise ValueError(f"{source}: {fmt} is not a text format")
    except UnicodeDecodeError as exc:
        raise phrases.undecodable(source, fmt, counted.line_of(exc), encoding, exc) from exc
    except (gzip.BadGzipFile, EOFError) as exc:
        raise phrases.undecodable(source, fmt, None, encoding, exc) from exc
    finally:
        text.detach()


def _read_tolerant(binary: IO[bytes], fmt: str, source: str, encoding: str,
                   csv_options: CsvOptions, phrases: Phrases, on_bad: OnBadLine
                   ) -> Iterator[Record]:
    """The records of a csv or jsonl stream, every bad line (undecodable ones too) handed
    to ``on_bad``."""
    from adf_core.data.bad_lines import byte_lines_work, decoded_lines

    def undecodable(raw: bytes, line: int, exc: UnicodeDecodeError) -> None:
        on_bad(raw, phrases.undecodable(source, fmt, line, encoding, exc), {"line": line})

    if byte_lines_work(encoding):
        lines: Iterable[str] = decoded_lines(binary, encoding, text_encoding(encoding),
                                             undecodable)
    else:
        lines = io.TextIOWrapper(binary, encoding=text_encoding(encoding), newline="")
    if fmt == "jsonl":
        yield from _read_jsonl(lines, source, phrases, on_bad)
    elif fmt == "csv":
        yield from _read_csv(lines, source, csv_options, phrases, on_bad)
    else:
        raise ValueError(f"{source}: {fmt} cannot be read line by line")


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


def reads_by_seeking(fmt: str, **options: Any) -> bool:
    """Whether :func:`read_batches` reads a document of ``fmt`` with these options by seeking
    in it (parquet; csv and JSON lines read into Arrow, which re-read after a parse error).
    A caller holding a stream (an S3 body) spools it to a seekable temporary file then, and
    only then: on the dict path the stream is read as it comes."""
    if fmt == "parquet":
        return True
    if options.get("on_bad") is not None:
        return False
    from adf_core.data.arrow import arrow_enabled

    if not arrow_enabled():
        return False
    from adf_core.data.arrow.reading import takes

    return takes(fmt, options.get("encoding", "utf-8"))


class _NewlineCounting(io.BufferedIOBase):
    """A binary stream that counts the newlines of what it handed out before its last read:
    the text wrapper decodes ahead in chunks, so the line of a decode error is found from
    the bytes (newlines before the chunk, plus those in the chunk before the bad byte)."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self._before = 0  # newlines in every chunk but the last
        self._last = 0

    def readable(self) -> bool:
        return True

    def _counted(self, data: bytes) -> bytes:
        self._before += self._last
        self._last = data.count(b"\n")
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(self._raw.read(-1 if size is None else size))

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._raw, "read1", None)
        return self._counted(read1(size) if read1 is not None else self._raw.read(size))

    def line_of(self, exc: UnicodeDecodeError) -> int:
        """The line (1-based) of the byte ``exc`` could not decode."""
        data = exc.object if isinstance(exc.object, bytes | bytearray) else b""
        return self._before + bytes(data[:exc.start]).count(b"\n") + 1


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


def _read_jsonl(lines: Iterable[str], source: str, phrases: Phrases,
                on_bad: OnBadLine | None = None) -> Iterator[Record]:
    loads = json.loads
    number = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            if on_bad is None:
                raise phrases.bad_json(source, number, line_number, exc) from None
            on_bad(line.rstrip("\r\n"), phrases.bad_json(source, number, line_number, exc),
                   {"line": line_number})
            continue
        if not isinstance(record, dict):
            if on_bad is None:
                raise phrases.not_object(source, number, line_number, record)
            on_bad(line.rstrip("\r\n"), phrases.not_object(source, number, line_number, record),
                   {"line": line_number})
            continue
        yield record


def _read_csv(lines: Iterable[str], source: str, options: CsvOptions, phrases: Phrases,
              on_bad: OnBadLine | None = None) -> Iterator[Record]:
    reader = StrictCsvRows(lines, options.delimiter, source, phrases)
    header = next(reader, None)
    if header is None:
        return
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise phrases.error(
            f"{source}: the header names {', '.join(map(repr, duplicates))} more than once "
            "(a record keeps one value per name): rename the columns")
    width = len(header)
    number = 0
    infer = options.infer_types
    for row in reader:
        if not row:
            continue
        number += 1
        if len(row) != width:
            error = phrases.field_count(source, number, reader.line_num, len(row), width)
            if on_bad is None:
                raise error
            on_bad(options.delimiter.join(row), error, {"line": reader.line_num})
            continue
        if infer:
            yield dict(zip(header, map(csv_value, row), strict=True))
        else:
            yield dict(zip(header, row, strict=True))


def one_column_hint(header: Iterable[str], delimiter: str) -> str | None:
    """What to say when a csv header read as one column looks separated by something else
    (``id;name`` read with ``,``): None when it does not."""
    names = list(header)
    if len(names) != 1:
        return None
    for other in (";", "\t", "|"):
        if other != delimiter and other in names[0]:
            shown = "\\t" if other == "\t" else other
            return (f"the header {names[0]!r} was read as one column with the delimiter "
                    f"{delimiter!r}; it looks separated by {shown!r}: set the `delimiter` "
                    f"option (e.g. -o ALIAS.delimiter='{shown}')")
    return None


def _read_json(text: IO[str], source: str, phrases: Phrases, on_bad: OnBadLine | None = None
               ) -> Iterator[Record]:
    try:
        document = json.load(text)
    except json.JSONDecodeError as exc:
        raise phrases.bad_document(source, exc) from None
    records = document if isinstance(document, list) else [document]
    kept = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            if on_bad is None:
                raise phrases.not_object(source, number, None, record)
            on_bad(record, phrases.not_object(source, number, None, record), {"record": number})
            continue
        kept.append(record)
    yield from kept


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
    ``close``. Errors number records within their input (``where``). With ``on_unwritable``
    a record that cannot be written goes to it and the others are written; without, it
    raises.
    """

    def __init__(self, out: IO[bytes], fmt: str, target: str, *, encoding: str = "utf-8",
                 compressed: bool = False, csv_options: CsvOptions = CsvOptions(),
                 csv_header: str = "first", scratch: IO[bytes] | None = None,
                 phrases: Phrases = PHRASES, on_unwritable: OnUnwritable | None = None
                 ) -> None:
        if csv_header not in ("first", "union"):
            raise ValueError(f"csv_header must be 'first' or 'union', not {csv_header!r}")
        if fmt == "csv" and csv_header == "union" and scratch is None:
            raise ValueError("csv_header='union' needs a scratch file")
        self.fmt = fmt
        self.target = target
        self.encoding = encoding
        self.phrases = phrases
        self.on_unwritable = on_unwritable
        self.count = 0  # records written (those handed to on_unwritable are not)
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
            written = self._write_json_lines(batch, where, base)
        elif self.fmt == "csv":
            written = self._write_csv(batch, where, base)
        else:
            written = self._write_parquet(batch, where, base)
        self.count += written
        self.seen[where] = base + len(batch)

    def _write_json_lines(self, batch: list[Record], where: str, base: int) -> int:
        try:
            text = (",\n" if self.fmt == "json" else "\n").join(map(dumps, batch))
        except (TypeError, ValueError):
            if self.on_unwritable is None:
                self._find_unwritable(batch, where, base)
                raise
            batch, lines = self._writable_lines(batch, where, base)
            if not batch:
                return 0
            text = (",\n" if self.fmt == "json" else "\n").join(lines)
        if self.fmt == "csv":  # union header: spool, convert on close
            for record in batch:
                self._columns.update(dict.fromkeys(record))
            assert self._scratch is not None
            self._scratch.write(text.encode("utf-8") + b"\n")
            return len(batch)
        data = text.encode(self.encoding)
        if self.fmt == "jsonl":
            self._out.write(data + b"\n")
        else:
            self._out.write((b",\n" if self.count else b"[\n") + data)
        return len(batch)

    def _writable_lines(self, batch: list[Record], where: str, base: int
                        ) -> tuple[list[Record], list[str]]:
        """The records of ``batch`` that encode, and their lines; the others go to
        ``on_unwritable``."""
        assert self.on_unwritable is not None
        kept, lines = [], []
        for offset, record in enumerate(batch, start=1):
            try:
                lines.append(dumps(record))
            except (TypeError, ValueError) as exc:
                self.on_unwritable(record, self.phrases.unwritable(
                    self.target, base + offset, where, self.count + offset,
                    f"cannot be written as JSON: {exc}"), base + offset, where)
            else:
                kept.append(record)
        return kept, lines

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

    def _write_csv(self, batch: list[Record], where: str, base: int) -> int:
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
                error = self.phrases.unwritable(
                    self.target, base + offset, where, self.count + offset,
                    f"has fields the CSV header (from the first record) lacks: {extra}")
                if self.on_unwritable is None:
                    raise error
                self.on_unwritable(record, error, base + offset, where)
                continue
            try:
                rows.append([csv_cell(record.get(f)) for f in fields])
            except (TypeError, ValueError) as exc:  # a nested value JSON cannot hold (NaN)
                error = self.phrases.unwritable(
                    self.target, base + offset, where, self.count + offset,
                    f"cannot be written as CSV: a nested value is not JSON: {exc}")
                if self.on_unwritable is None:
                    raise error from None
                self.on_unwritable(record, error, base + offset, where)
        self._csv.writerows(rows)
        return len(rows)

    def _write_parquet(self, batch: list[Record], where: str, base: int) -> int:
        _parquet()  # pyarrow is there, or an error says which extra brings it
        import pyarrow as pa

        try:
            table = pa.Table.from_pylist(batch, schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as exc:
            if self.on_unwritable is None:
                raise self.phrases.error(
                    f"{self.target}: records {base + 1}-{base + len(batch)} ({where}) do not "
                    f"fit the parquet schema of the first batch: {exc}") from None
            table = self._fitting_parquet(batch, where, base)
            if table is None:
                return 0
        if self._parquet is None:
            self._schema = table.schema
            from adf_core.data.arrow.writing import parquet_writer

            self._parquet = parquet_writer(self._out, self._schema)
        self._parquet.write_table(table)
        return table.num_rows

    def _fitting_parquet(self, batch: list[Record], where: str, base: int) -> Any:
        """The records of ``batch`` that fit the schema (the first record's, for the first
        batch) as one table; the others go to ``on_unwritable``."""
        import pyarrow as pa

        assert self.on_unwritable is not None
        schema, kept = self._schema, []
        for offset, record in enumerate(batch, start=1):
            try:
                row = pa.Table.from_pylist([record], schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as exc:
                self.on_unwritable(record, self.phrases.unwritable(
                    self.target, base + offset, where, self.count + offset,
                    f"does not fit the parquet schema: {exc}"), base + offset, where)
                continue
            schema = schema or row.schema
            kept.append(record)
        return pa.Table.from_pylist(kept, schema=schema) if kept else None

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
