"""Read csv, JSON lines and parquet into Arrow batches with pyarrow's readers.

The values are those the dict readers make (``adf_core.data.formats``): a CSV cell is read as
text and typed column by column with the same rule as ``csv_value`` (integers, floats, empty
cells as null, the rest text): Arrow's casts, where cheap checks show that Arrow's number
syntax and ``csv_value``'s agree on the column, the regular expressions otherwise. A batch
whose column mixes integers, floats and text, which one Arrow column cannot hold, is made
records with ``csv_value`` itself. From the first block holding a quote character a file is
read by the dict reader (skipping the records already handed out), which is strict about
quoting where pyarrow is lenient (a quote never closed, text after a closing quote).

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
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from adf_core.data.arrow.jsonl import UseRecords, aligned, jsonl_batches
from adf_core.data.encoding import csv_value
from adf_core.data.records import batched

_INT = r"^[-+]?(0|[1-9][0-9]*)$"
_FLOAT = r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"
_NUMBER = _INT + "|" + _FLOAT
#: Bytes pyarrow parses per block (the batches are then cut to ``batch_size``). pyarrow's
#: default: it reads some dozens of blocks ahead, and larger blocks kept more memory (a 5M-row
#: file peaked ~120 MB higher with 4 MiB blocks) for little less CPU.
BLOCK_SIZE = 1 << 20


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")


def takes(fmt: str, encoding: str) -> bool:
    """Whether this reader takes a document of ``fmt`` once it is seekable: parquet always;
    csv and JSON lines when UTF-8 (a stream, an S3 body, is then spooled to a temporary
    file: Arrow reads it several times faster than the dict reader)."""
    return fmt == "parquet" or (fmt in ("csv", "jsonl") and _is_utf8(encoding))


def can_read(raw: IO[bytes], fmt: str, encoding: str) -> bool:
    """Whether this reader takes the document: parquet always; csv and JSON lines when UTF-8
    and seekable (a parse error re-reads it with the dict reader)."""
    if fmt == "parquet":
        return True
    if not takes(fmt, encoding):
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


class _QuoteWatch:
    """The stream pyarrow reads, watched for a quote character. Quoting is where pyarrow is
    lenient and the dict reader strict (a quote never closed, text after a closing quote, a
    cell over the csv limit are errors naming the line), so from the first block that holds
    one the dict reader takes over; a search for one byte in what is read anyway costs
    nothing beside parsing (a scan of the file first read it, or inflated it, twice)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream: IO[bytes] | None = stream
        self._lock = threading.Lock()
        self.quoted = False
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        with self._lock:  # pyarrow reads ahead in its own threads
            if self._stream is None:
                return b""
            data = self._stream.read(size)
        if b'"' in data:
            self.quoted = True
        return data

    def detach(self) -> None:
        """Read nothing more from the stream (a read under way ends first): the dict reader
        may then seek it."""
        with self._lock:
            self._stream = None

    def close(self) -> None:
        self.closed = True


def _csv_batches(raw: IO[bytes], compressed: bool, options: Any) -> Iterator[Any]:
    """Typed batches of the plain CSV ``raw``; _UseRecords (before a batch that holds or
    follows a quote, a cell over the csv limit, or a header the dict reader must judge) hands
    the rest to the dict reader. A block's bytes are read before its batch is made, so the
    batches handed out before a quote was seen hold none."""
    import pyarrow.csv as pcsv

    header = _header(raw, compressed, options.delimiter)
    if header is None:
        return
    if len(set(header)) != len(header) or not all(header):
        raise _UseRecords  # the dict reader says what is wrong with it
    watched = _QuoteWatch(_opened(raw, compressed))
    try:
        reader = pcsv.open_csv(
            watched,
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
            if watched.quoted:
                raise _UseRecords
            if batch.num_rows:
                if any(_longest(c) > limit for c in batch.columns):
                    raise _UseRecords  # the dict reader names the cell over the csv limit
                yield _typed(batch) if options.infer_types else batch
        if watched.quoted:
            raise _UseRecords  # (each quote is in a row, seen before its batch: defensive)
    finally:
        watched.detach()


def _longest(column: pa.Array) -> int:
    """The most characters in one cell (its bytes bound them, read from the offsets alone:
    the characters are counted only when a cell has more bytes than the limit); for a column
    whose cells hold no more bytes in all than the limit, those bytes (a bound)."""
    span = _span(column)
    if 0 <= span <= csv.field_size_limit():
        return span
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
    letter or hold a space, integers, floats); the regular expressions run only where they
    cannot. A cast is tried only where it is expected to succeed: a failed one builds an
    error for every cell it cannot parse, which costs more than twenty regular expressions."""
    empty = pc.equal(text, "")
    empties = pc.sum(empty).as_py() or 0
    if empties == len(text):
        return pa.nulls(len(text))
    values = pc.if_else(empty, pa.scalar(None, pa.string()), text) if empties else text
    sample = _first_filled(values)
    kind = type(csv_value(sample))  # what the column most likely is: tried first
    typed = None
    if kind is float:
        typed = _float64(values)
    elif kind is int:
        typed = _signed_int64(values)
    elif " " in sample and sample[0] in _NUMERIC_CHARS:  # a date-time column, most likely:
        spaced = pc.match_substring(values, " ")  # a cell with a space is text, the rest decide
        return _text_unless_numbers(pc.filter(values, pc.invert(spaced)), values)
    if typed is not None:
        return typed
    filled = len(values) - empties
    numeric_start = _numeric_start(text, empty if empties else None)
    starts = pc.sum(numeric_start).as_py() or 0
    if starts < filled:  # some cells cannot be numbers: text, unless others are numbers
        if starts == 0:
            return values
        return _text_unless_numbers(pc.filter(values, numeric_start), values)
    return _regex_typed(values, pc.ascii_is_decimal(values))


_NUMERIC_CHARS = "0123456789+-."

#: The first bytes that can start a number (digits, signs, a point) as a set of uint8.
_NUMERIC_BYTES = pa.array([ord(c) for c in _NUMERIC_CHARS], pa.uint8())


def _numeric_start(text: pa.Array, empty: pa.Array | None) -> pa.Array:
    """Whether each cell starts with a character that can start a number (null for an
    empty cell). The first bytes are read from the offsets and the data buffer (a gather of
    one byte per cell, against a slice of each cell that builds a new string array)."""
    if text.type != pa.string() or text.null_count:
        first = pc.utf8_slice_codeunits(text, 0, 1)
        return pc.is_in(first, value_set=pa.array(list(_NUMERIC_CHARS)))
    _validity, offsets, data = text.buffers()
    starts = pa.Array.from_buffers(pa.int32(), len(text), [None, offsets], offset=text.offset)
    if empty is not None:  # an empty cell has no first byte (the last may start past the data)
        starts = pc.if_else(empty, pa.scalar(None, pa.int32()), starts)
    data_bytes = pa.Array.from_buffers(pa.uint8(), data.size if data is not None else 0,
                                       [None, data])
    return pc.is_in(pc.take(data_bytes, starts), value_set=_NUMERIC_BYTES)


def _signed_int64(values: pa.Array) -> pa.Array | None:
    """A column whose first cell is an integer, when every cell is one: Arrow parses
    ``[-]digits`` (no plus sign) and accepts leading zeros, which ``csv_value`` makes text,
    so a cell with one leaves the decision to the regular expressions (None)."""
    if not _parses(values, pa.int64()):
        return None
    try:
        ints = pc.cast(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a plus sign, a cell beyond 64 bits, text: the regular expressions
    lengths = pc.binary_length(values)
    zero = pc.and_(pc.starts_with(values, "0"), pc.greater(lengths, 1))
    minus_zero = pc.and_(pc.starts_with(values, "-0"), pc.greater(lengths, 2))
    if pc.any(zero).as_py() or pc.any(minus_zero).as_py():
        return None
    return ints


def _float64(values: pa.Array) -> pa.Array | None:
    """A column whose first cell is a float, when every cell is one. Where Arrow's float
    syntax and ``csv_value``'s differ, a cell has no point (``5`` is an integer, ``007`` and
    ``inf`` text, ``1e5`` a float) or is not finite (``nan``; ``1e999`` overflows in both):
    only those cells are matched against ``csv_value``'s pattern."""
    if not _parses(values, pa.float64()):
        return None
    try:
        floats = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    finite = pc.all(pc.is_finite(floats)).as_py()
    if finite and _points(values) == len(values) - values.null_count:
        return floats  # a point in every cell (Arrow reads one at most in a float)
    plain = pc.and_(pc.match_substring(values, "."), pc.is_finite(floats))
    suspect = pc.filter(values, pc.invert(plain))
    if pc.all(pc.match_substring_regex(suspect, _FLOAT)).as_py():
        return floats
    return None  # an integer or text among the floats: the regular expressions decide


def _span(values: pa.Array) -> int:
    """The bytes of all the cells of a string array, from its offsets (-1 for another
    type)."""
    if values.type != pa.string():
        return -1 if values.type != pa.null() else 0
    offsets = values.buffers()[1]
    if offsets is None:
        return 0
    bounds = memoryview(offsets).cast("i")
    return int(bounds[values.offset + len(values)] - bounds[values.offset])


def _points(values: pa.Array) -> int:
    """The number of ``.`` in the cells of a string array, counted in its data buffer."""
    if values.type != pa.string():
        return -1
    _validity, offsets, data = values.buffers()
    if data is None:
        return 0
    bounds = memoryview(offsets).cast("i")
    start, end = bounds[values.offset], bounds[values.offset + len(values)]
    return memoryview(data)[start:end].tobytes().count(b".")


#: Cells cast on trial before a whole column is (a failed cast is dear, see _typed_column).
_TRIAL = 256


def _parses(values: pa.Array, kind: pa.DataType) -> bool:
    """Whether the first cells of ``values`` cast to ``kind`` (so that the whole column is
    worth casting)."""
    try:
        pc.cast(values.slice(0, _TRIAL), kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _first_filled(values: pa.Array) -> str:
    """The first cell that is not empty (the column has one)."""
    if not values.null_count:
        return str(values[0].as_py())
    return str(pc.drop_null(values)[0].as_py())


def _int64(values: pa.Array) -> pa.Array | None:
    """Cells that are all ``csv_value`` integers as int64, or None beyond 64 bits (Python's
    int holds them: records). Arrow reads no plus sign: a column with one is cast without."""
    try:
        return pc.cast(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if not pc.any(pc.starts_with(values, "+")).as_py():
        return None
    try:
        return pc.cast(pc.utf8_ltrim(values, "+"), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _text_unless_numbers(maybe: pa.Array, values: pa.Array) -> pa.Array | None:
    """``values`` as text, or None when a cell of ``maybe`` (those that could be numbers)
    is one."""
    if len(maybe) and pc.any(pc.match_substring_regex(maybe, _NUMBER)).as_py():
        return None  # numbers and text in one column: records
    return values


def _regex_typed(values: pa.Array, digits: pa.Array) -> pa.Array | None:
    """Every cell can start a number (``digits``: whether each is digits alone): the regular
    expressions decide."""
    if pc.all(digits).as_py():
        leading_zero = pc.and_(pc.starts_with(values, "0"),
                               pc.greater(pc.utf8_length(values), 1))
        is_int = pc.invert(leading_zero) if not pc.any(leading_zero).as_py() else \
            pc.match_substring_regex(values, _INT)
    elif (pc.any(digits).as_py() or pc.any(pc.starts_with(values, "-")).as_py()
          or pc.any(pc.starts_with(values, "+")).as_py()):
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
