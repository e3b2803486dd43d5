"""Read JSON lines into Arrow batches, a chunk of whole lines at a time, where a batch is
provably what the dict reader (``json.loads`` line by line) makes.

pyarrow's JSON reader differs from ``json.loads`` in ways a batch would show: a key a line
lacks is null (and a JSONL writer would then write ``"k": null``), ``1`` in a column of
floats is ``1.0``, the columns keep the order keys were first seen in (not each line's), a
number beyond 64 bits is a float, text such as ``"2024-01-02"`` is a timestamp, and one line
may hold two objects. Rather than test for each, a chunk's batch is written back as JSON
lines by the vectorised encoder the JSONL writer uses (``adf_core.data.arrow.text``), spaced
as the chunk's first line is (``json.dumps``'s spacing or the compact one), and compared with
the chunk's bytes. A line that is equal reads back with ``json.loads`` as its row (the same
keys in the same order, an integer as an integer), so the batch holds exactly the dict
reader's records, given columns of the types ``json.loads`` makes: text pyarrow reads as a
timestamp is read again as text, and a chunk with objects or arrays inside its records is
left to ``json.loads`` (the components downstream treat a nested Arrow column otherwise than
a record's dicts and lists, and the encoder writes one value by value in Python anyway).

The lines that differ (``\\u00e9`` escapes, ``1e5``, a key missing or in another order) are
read by ``json.loads`` between slices of the batch, a few runs of them per chunk; a chunk
with more (or with more than one line in sixteen) is read by ``json.loads`` whole, and after
two such chunks in a row the rest of the document is, without trying pyarrow: a document
pyarrow cannot take costs the parse of two chunks, which are the smallest (the chunks grow
from 256 KB to 4 MB).

Errors are the dict reader's: lines ``json.loads`` cannot read (or that are not UTF-8, or not
objects) make the caller read the document again with the dict reader, which raises the
error with its file, record and line.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from typing import IO, Any

import pyarrow as pa

from adf_core.data.arrow.text import NotVectorised, jsonl_bytes

#: Bytes read per chunk (cut after its last newline): the first chunks are smaller, so that
#: a document pyarrow cannot take costs little before it is left to json.loads.
CHUNK_SIZE = 4 << 20
FIRST_CHUNK_SIZE = 256 << 10
#: Chunks in a row the check may fail before the rest of the document is read by json.loads.
MISSES = 2


class UseRecords(Exception):
    """The document is read by the dict reader from its start (it holds an error, which the
    dict reader words and places)."""


def jsonl_batches(stream: IO[bytes], records: Callable[[bytes], list[dict[str, Any]]]
                  ) -> Iterator[Any]:
    """Arrow batches and lists of records (from ``records(lines)``, which raises
    :class:`UseRecords` for lines the dict reader cannot read) for the JSON lines of
    ``stream``, in order."""
    hint: pa.Schema | None = None
    misses = 0
    for chunk in _chunks(stream):
        pieces = None
        if misses < MISSES:
            pieces, hint = _exact_pieces(chunk, hint, records)
            misses = 0 if pieces is not None else misses + 1
        if pieces is None:
            pieces = [records(chunk)]
        for piece in pieces:
            if len(piece):
                yield piece


def aligned(pieces: Iterator[Any], size: int) -> Iterator[Any]:
    """Batches of ``size`` rows cut from ``pieces`` (Arrow batches and lists of records)
    where the dict reader's batches are cut, so that a destination gets the same batches
    either way (a parquet schema is the first batch's); a batch that spans a list and an
    Arrow batch, or two Arrow schemas, is records."""
    parts: list[Any] = []
    held = 0
    for piece in pieces:
        at, rows = 0, len(piece)
        while at < rows:
            take = min(size - held, rows - at)
            if at == 0 and take == rows:
                parts.append(piece)
            else:
                parts.append(piece[at:at + take] if isinstance(piece, list)
                             else piece.slice(at, take))
            held, at = held + take, at + take
            if held == size:
                yield _joined(parts)
                parts, held = [], 0
    if parts:
        yield _joined(parts)


def _joined(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if all(not isinstance(part, list) and part.schema == parts[0].schema for part in parts):
        return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]
    return [row for part in parts
            for row in (part if isinstance(part, list) else part.to_pylist())]


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in chunks of whole lines (the last may lack its newline), the byte-order
    mark that starts it dropped (the dict reader reads UTF-8 as ``utf-8-sig``)."""
    size = FIRST_CHUNK_SIZE
    data = _without_bom(stream.read(size))
    while data:
        size = min(size * 2, CHUNK_SIZE)
        more = stream.read(size)
        if not more:
            yield from _checked(data)
            return
        end = data.rfind(b"\n") + 1
        if not end:  # a line longer than a chunk
            data += more
            continue
        yield from _checked(data[:end])
        data = data[end:] + more


def _without_bom(chunk: bytes) -> bytes:
    return chunk[len(codecs.BOM_UTF8):] if chunk.startswith(codecs.BOM_UTF8) else chunk


def _checked(chunk: bytes) -> Iterator[bytes]:
    if chunk.startswith(codecs.BOM_UTF8):
        raise UseRecords  # a byte-order mark inside the document: the dict reader's error
    if chunk:
        yield chunk


def _exact_pieces(chunk: bytes, hint: pa.Schema | None,
                  records: Callable[[bytes], list[dict[str, Any]]]
                  ) -> tuple[list[Any] | None, pa.Schema | None]:
    """The chunk as Arrow batches, and records for the few lines Arrow does not hold
    exactly, or None when it is not worth it; and the schema to try first on the next chunk
    (text read as text, not as timestamps)."""
    if b"\r" in chunk:  # CRLF: json.loads ignores the CR; a lone CR ends a line for it
        chunk = chunk.replace(b"\r\n", b"\n")
        if b"\r" in chunk:
            return None, None
    if hint is not None:  # the last chunk's schema: one parse, when it fits
        batch = _parsed(chunk, hint)
        pieces = _same_lines(batch, chunk, records) if batch is not None else None
        if pieces is not None:
            return pieces, hint
    batch = _parsed(chunk, None)
    if batch is None:
        return None, None
    schema = _json_schema(batch.schema)
    if schema is None:
        return None, None
    hint = None
    if schema != batch.schema:  # text read as timestamps: read again as text
        batch = _parsed(chunk, schema)
        if batch is None:
            return None, None
        hint = schema
    pieces = _same_lines(batch, chunk, records)
    return pieces, (hint if pieces is not None else None)


def _parsed(chunk: bytes, schema: pa.Schema | None) -> pa.RecordBatch | None:
    import pyarrow.json as pj

    options = pj.ParseOptions(explicit_schema=schema) if schema is not None else None
    try:
        table = pj.read_json(io.BytesIO(chunk), parse_options=options)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # json.loads decides: maybe an error, maybe what pyarrow cannot hold
    if not table.num_columns or not table.num_rows:
        return None
    if schema is not None and table.schema.names != schema.names:
        return None  # keys the schema lacks, after those it has
    return table.combine_chunks().to_batches()[0]


_JSON_TYPES = (pa.types.is_int64, pa.types.is_float64, pa.types.is_string, pa.types.is_boolean,
               pa.types.is_null)


def _json_field(field: pa.Field) -> pa.Field | None:
    """``field`` with a date or time made text (pyarrow infers timestamps from text), or None
    when its type is not one ``json.loads`` makes a flat value of. Objects and arrays are
    left to ``json.loads``: the components downstream treat a nested Arrow column otherwise
    than the dicts and lists of a record, and such a column is encoded value by value in
    Python anyway."""
    if any(test(field.type) for test in _JSON_TYPES):
        return field
    if pa.types.is_temporal(field.type):
        return pa.field(field.name, pa.string())
    return None


def _json_schema(schema: pa.Schema) -> pa.Schema | None:
    fields = [_json_field(field) for field in schema]
    if any(field is None for field in fields):
        return None
    return pa.schema(fields)


#: Runs of lines a chunk may have that Arrow does not hold exactly (read by json.loads
#: between Arrow slices), and the share of its lines they may hold; beyond either the whole
#: chunk is, rather than many small batches or a batch of a column the chunk does not have.
RUNS = 8
BAD_SHARE = 1 / 16


def _same_lines(batch: pa.RecordBatch, chunk: bytes,
                records: Callable[[bytes], list[dict[str, Any]]]) -> list[Any] | None:
    """``batch`` (in slices) and ``records`` of the lines where ``batch`` written as JSON
    lines (spaced as the chunk's first line is) is not the chunk's line, byte for byte;
    None when they are many."""
    compact = b'": ' not in chunk[:chunk.find(b"\n")]
    try:
        text = jsonl_bytes(batch, compact=compact)
    except NotVectorised:  # NaN or an infinity: json.loads reads them
        return None
    if not chunk.endswith(b"\n"):
        chunk += b"\n"
    if text == chunk:
        return [batch]
    lines, written = chunk.split(b"\n"), text.split(b"\n")
    if len(lines) != len(written):
        return None  # blank lines, two objects on a line: json.loads decides
    runs: list[list[int]] = []  # [first, last + 1] of each run of lines that differ
    allowed = len(lines) * BAD_SHARE
    bad = 0
    for row, (line, mine) in enumerate(zip(lines, written, strict=True)):
        if line == mine:
            continue
        bad += 1
        if runs and runs[-1][1] == row:
            runs[-1][1] = row + 1
        elif len(runs) == RUNS:
            return None
        else:
            runs.append([row, row + 1])
        if bad > allowed:
            return None
    pieces: list[Any] = []
    done = 0
    for first, end in runs:
        if first > done:
            pieces.append(batch.slice(done, first - done))
        pieces.append(records(b"\n".join(lines[first:end]) + b"\n"))
        done = end
    if done < batch.num_rows:
        pieces.append(batch.slice(done))
    return pieces
