"""Read csv, JSON lines and parquet into Arrow batches with pyarrow's readers.

The values are those the dict readers make (``adf_core.data.formats``): a CSV cell is read as
text and typed column by column with the same rule as ``csv_value`` (integers, floats, empty
cells as null, the rest text); a batch whose column mixes integers, floats and text, which
one Arrow column cannot hold, is made records with ``csv_value`` itself. A file holding a
quote character is read by the dict reader, which is strict about quoting where pyarrow is
lenient (a quote never closed, text after a closing quote).

JSON lines are parsed by pyarrow a chunk at a time and a chunk is kept as Arrow only when it
is provably the dict reader's records (:mod:`adf_core.data.arrow.jsonl`: a key a line lacks,
``1`` beside ``1.0``, keys in another order would show in an Arrow batch); another chunk is
read by ``json.loads``, as records.

Errors keep the dict readers' wording and positions: when pyarrow cannot parse a file (a row
with the wrong number of fields, bytes that are not UTF-8, a cell over the csv limit, a line
that is not JSON), it is read again by the dict reader from the start, skipping the records
already handed out, so the error names the file, record and line exactly as before (and a
bad-record policy, which the caller handles by not coming here, sees the same lines).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from adf_core.data.arrow.jsonl import UseRecords, aligned, jsonl_batches
from adf_core.data.encoding import csv_value
from adf_core.data.records import batched

_INT = r"^[-+]?(0|[1-9][0-9]*)$"
_FLOAT = r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"
_STARTS = pa.array(list("0123456789+-."))
_SIGNS = pa.array(["+", "-"])
#: Rows pyarrow parses per block (the batches are then cut to ``batch_size``).
BLOCK_SIZE = 4 << 20


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")


def takes(fmt: str, encoding: str) -> bool:
    """Whether this reader takes a document of ``fmt`` once it is seekable: parquet always;
    csv when UTF-8. (JSON lines too, when already seekable, as a file is: a stream, an S3
    body, is not copied for them, as their dict reader streams.)"""
    return fmt == "parquet" or (fmt == "csv" and _is_utf8(encoding))


def can_read(raw: IO[bytes], fmt: str, encoding: str) -> bool:
    """Whether this reader takes the document: parquet always; csv and JSON lines when UTF-8
    and seekable (a parse error re-reads it with the dict reader)."""
    if fmt == "parquet":
        return True
    if not (takes(fmt, encoding) or (fmt == "jsonl" and _is_utf8(encoding))):
        return False
    try:
        return bool(raw.seekable())
    except (AttributeError, ValueError):
        return False


def read_arrow_batches(raw: IO[bytes], fmt: str, source: str, batch_size: int,
                       dict_reader: Callable[..., Iterator[dict[str, Any]]],
                       **options: Any) -> Iterator[Any]:
    """The batches of one document (Arrow, or records for a batch Arrow cannot hold);
    ``dict_reader`` is ``adf_core.data.formats.read_records``, which reads it after a parse
    error."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(raw).iter_batches(batch_size=batch_size)
        return
    start = raw.tell()
    done = 0
    try:
        for batch in _text_batches(raw, fmt, source, dict_reader,
                                   {**options, "batch_size": batch_size}):
            for chunk in _slices(batch, batch_size):
                done += len(chunk)
                yield chunk
    except (pa.ArrowInvalid, UnicodeDecodeError, _UseRecords, UseRecords, EOFError,
            gzip.BadGzipFile):
        raw.seek(start)
        records = dict_reader(raw, fmt, source, **options)
        for _ in range(done):
            next(records, None)
        yield from batched(records, batch_size)


class _UseRecords(Exception):
    """This document is read by the dict reader (its header or its types need it)."""


def _slices(batch: Any, size: int) -> Iterator[Any]:
    if isinstance(batch, list):
        for at in range(0, len(batch), size):
            yield batch[at:at + size]
        return
    for at in range(0, batch.num_rows, size):
        yield batch.slice(at, size)


def _opened(raw: IO[bytes], compressed: bool) -> IO[bytes]:
    if compressed:
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _text_batches(raw: IO[bytes], fmt: str, source: str,
                  dict_reader: Callable[..., Iterator[dict[str, Any]]],
                  options: dict[str, Any]) -> Iterator[Any]:
    compressed = bool(options.get("compressed"))
    if fmt == "jsonl":
        phrases = options.get("phrases")

        def records(chunk: bytes) -> list[dict[str, Any]]:
            """The chunk's records as the dict reader reads them; any error it meets is
            raised again by reading the document from its start."""
            extra = {"phrases": phrases} if phrases is not None else {}
            try:
                return list(dict_reader(io.BytesIO(chunk), "jsonl", source, **extra))
            except Exception:  # the dict reader raises it again, placed
                raise UseRecords from None

        yield from aligned(jsonl_batches(_opened(raw, compressed), records),
                           options["batch_size"])
        return
    yield from _csv_batches(raw, compressed, options["csv_options"])


# -- csv ----------------------------------------------------------------------------------

def _header(raw: IO[bytes], compressed: bool, delimiter: str) -> list[str] | None:
    start = raw.tell()
    first = _opened(raw, compressed).readline()
    raw.seek(start)
    text = first.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0] if rows else None


def _has_quotes(raw: IO[bytes], compressed: bool) -> bool:
    """Whether the document holds a quote character. Quoting is where pyarrow is lenient and
    the dict reader strict (a quote never closed, text after a closing quote, a cell over the
    csv limit are errors naming the line), so a quoted file is read by the dict reader; a
    scan for one byte costs little beside parsing."""
    start = raw.tell()
    stream = _opened(raw, compressed)
    try:
        while chunk := stream.read(1 << 20):
            if b'"' in chunk:
                return True
        return False
    finally:
        raw.seek(start)


def _csv_batches(raw: IO[bytes], compressed: bool, options: Any) -> Iterator[Any]:
    import pyarrow.csv as pcsv

    if _has_quotes(raw, compressed):
        raise _UseRecords
    header = _header(raw, compressed, options.delimiter)
    if header is None:
        return
    if len(set(header)) != len(header) or not all(header):
        raise _UseRecords  # the dict reader says what is wrong with it
    reader = pcsv.open_csv(
        _opened(raw, compressed),
        read_options=pcsv.ReadOptions(column_names=header, skip_rows=1,
                                      block_size=BLOCK_SIZE, encoding="utf8"),
        parse_options=pcsv.ParseOptions(delimiter=options.delimiter, quote_char=False,
                                        escape_char=False, newlines_in_values=False,
                                        ignore_empty_lines=True),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False,
            quoted_strings_can_be_null=False, check_utf8=True))
    limit = csv.field_size_limit()
    for batch in reader:
        if batch.num_rows:
            if any(_longest(c) > limit for c in batch.columns):
                raise _UseRecords  # the dict reader names the cell over the csv limit
            yield _typed(batch) if options.infer_types else batch


def _longest(column: pa.Array) -> int:
    """The most characters in one cell (its bytes bound them, read from the offsets alone:
    the characters are counted only when a cell has more bytes than the limit)."""
    most = pc.max(pc.binary_length(column)).as_py() or 0
    if most <= csv.field_size_limit():
        return int(most)
    return int(pc.max(pc.utf8_length(column)).as_py() or 0)


def _typed(batch: pa.RecordBatch) -> Any:
    """CSV text typed as ``csv_value`` types each cell; records when a column is mixed."""
    columns = []
    for column in batch.columns:
        typed = _typed_column(column)
        if typed is None:
            names = batch.schema.names
            return [{name: csv_value(value) for name, value in zip(names, row, strict=True)}
                    for row in zip(*(c.to_pylist() for c in batch.columns), strict=True)]
        columns.append(typed)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _typed_column(text: pa.Array) -> pa.Array | None:
    """One column typed as ``csv_value`` types its cells, or None when it mixes kinds (the
    regular expressions are ``csv_value``'s: ``007`` stays text, as in the dict reader).

    Cheap kernels decide the common cases exactly (a text column whose cells start with a
    letter or hold a space, a column of plain digits); the regular expressions run
    only where they cannot. (A failed ``cast`` costs as much as twenty regular expressions
    here, so nothing is tried by casting.)"""
    empty = pc.equal(text, "")
    empties = pc.sum(empty).as_py() or 0
    if empties == len(text):
        return pa.nulls(len(text))
    values = pc.if_else(empty, pa.scalar(None, pa.string()), text) if empties else text
    filled = len(values) - empties
    first = pc.utf8_slice_codeunits(values, 0, 1)
    numeric_start = pc.is_in(first, value_set=_STARTS)
    starts = pc.sum(numeric_start).as_py() or 0
    if starts < filled:  # some cells cannot be numbers: text, unless others are numbers
        if starts == 0:
            return values
        return _text_unless_numbers(pc.filter(values, numeric_start), values)
    digits = pc.ascii_is_decimal(values)
    if pc.all(digits).as_py():
        if not pc.any(pc.starts_with(values, "0")).as_py():
            return _int64(values)  # digits without a leading zero: integers
        return _regex_typed(values, first, digits)
    if " " in _first_filled(values):  # a date-time column, most likely: a cell with a
        spaced = pc.match_substring(values, " ")  # space is text, the rest decide
        return _text_unless_numbers(pc.filter(values, pc.invert(spaced)), values)
    return _regex_typed(values, first, digits)


def _first_filled(values: pa.Array) -> str:
    """The first cell that is not empty (the column has one)."""
    if not values.null_count:
        return str(values[0].as_py())
    return str(pc.drop_null(values)[0].as_py())


def _int64(values: pa.Array) -> pa.Array | None:
    try:
        return pc.cast(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # beyond 64 bits: Python's int holds it, records


def _text_unless_numbers(maybe: pa.Array, values: pa.Array) -> pa.Array | None:
    """``values`` as text, or None when a cell of ``maybe`` (those that could be numbers)
    is one."""
    if len(maybe) and (pc.any(pc.match_substring_regex(maybe, _INT)).as_py() or
                       pc.any(pc.match_substring_regex(maybe, _FLOAT)).as_py()):
        return None  # numbers and text in one column: records
    return values


def _regex_typed(values: pa.Array, first: pa.Array, digits: pa.Array) -> pa.Array | None:
    """Every cell can start a number (``first`` is each one's first character, ``digits``
    whether it is digits alone): the regular expressions decide."""
    if pc.all(digits).as_py():
        leading_zero = pc.and_(pc.starts_with(values, "0"),
                               pc.greater(pc.utf8_length(values), 1))
        is_int = pc.invert(leading_zero) if not pc.any(leading_zero).as_py() else \
            pc.match_substring_regex(values, _INT)
    elif pc.any(digits).as_py() or pc.any(pc.is_in(first, value_set=_SIGNS)).as_py():
        is_int = pc.match_substring_regex(values, _INT)
    else:  # no cell is digits alone, none is signed: no integer
        is_int = pa.scalar(False)
    if pc.all(is_int).as_py():
        return _int64(values)
    is_float = pc.match_substring_regex(values, _FLOAT)
    if pc.all(is_float).as_py():
        return pc.cast(values, pa.float64())
    if pc.any(is_int).as_py() or pc.any(is_float).as_py():
        return None  # integers and floats, or numbers and text, in one column: records
    return values
