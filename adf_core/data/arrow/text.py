"""Arrow columns as JSON and CSV text, column by column, without a Python object per row.

Every value is written exactly as the dict writers write it (``adf_core.data.encoding``):
floats as Python's ``repr`` (``1.0``, ``1e+20``), decimals as JSON numbers (an integral one as
an integer), dates and timestamps as ISO 8601 (``isoformat()`` in JSON, ``str()`` in CSV),
booleans as ``true``/``True``. Arrow's own formatting differs in a few places (exponents,
``1`` for ``1.0``, trailing decimal zeros); those rows are rewritten in Python, which is rare
in real data. Types with no vectorised rule (times, binary, nested values, timestamps in a
zone other than UTC) are encoded in Python for that column alone.

The common case is kept cheap, as it is most of the cost of ``db | file`` to JSONL: a string
is rewritten only when it holds something to escape (most hold nothing), a timestamp in whole
seconds is written by Arrow as Python writes it, and a batch's lines are one row-by-row join of
its columns and the literal keys, read straight from the result's buffer.

A batch holding NaN or an infinity is not encoded here as JSON (:class:`NotVectorised`): the
caller writes it through the dict writer, whose rule for non-finite floats applies.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from adf_core.data.encoding import dumps, json_default


class NotVectorised(Exception):
    """This batch must go through the dict writer (it holds a value with a special rule)."""


def _python_repr_fix(col: pa.Array, text: pa.Array, encode: Callable[[Any], str]) -> pa.Array:
    """Rewrite, in Python, the rows where Arrow's float text differs from ``repr``: those in
    exponent form (Arrow and Python switch at different magnitudes)."""
    suspect = pc.fill_null(pc.match_substring(text, "e"), False)
    if not pc.any(suspect).as_py():
        return text
    rows = pc.indices_nonzero(suspect)
    fixed = pa.array([encode(v) for v in pc.take(col, rows).to_pylist()], pa.string())
    return pc.replace_with_mask(text, suspect, fixed)


def _float_text(col: pa.Array, encode: Callable[[Any], str]) -> pa.Array:
    col = col.cast(pa.float64())
    text = pc.cast(col, pa.string())
    # one look at all the text first: in most columns every value has its one dot and none
    # an exponent, and then there is nothing to rewrite
    data = _concatenated(text)
    if data.count(b".") != len(text) - text.null_count:
        # Python writes 1.0 and -0.0 where Arrow writes 1 and -0: a finite float's text
        # without a dot is whole (or in exponent form, which _python_repr_fix rewrites anyway)
        whole = pc.invert(pc.match_substring(text, "."))
        if pc.any(whole).as_py():
            text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if b"e" not in data:
        return text
    return _python_repr_fix(col, text, encode)


def _decimal_json(col: pa.Array) -> pa.Array:
    """A decimal as the dict writer writes it: an integer when integral, else float(d)."""
    text = pc.cast(col, pa.string())
    text = pc.replace_substring_regex(text, r"^(-?\d+)\.0*$", r"\1")
    text = pc.replace_substring_regex(text, r"^(-?\d+\.\d*?)0+$", r"\1")
    # float(d) rounds beyond 15 significant digits and uses an exponent below 1e-4
    digits = pc.utf8_length(pc.replace_substring_regex(text, r"[-.]|^-?0\.0*", ""))
    fraction = pc.match_substring(text, ".")
    special = pc.fill_null(pc.and_(fraction, pc.or_(
        pc.greater(digits, 15), pc.match_substring_regex(text, r"^-?0\.0000"))), False)
    if pc.any(special).as_py():
        rows = pc.indices_nonzero(special)
        fixed = pa.array([dumps(v) for v in pc.take(col, rows).to_pylist()], pa.string())
        text = pc.replace_with_mask(text, special, fixed)
    return text


_UTC = (None, "UTC", "+00:00", "Z", "Etc/UTC")
_DATE_TIME_GAP = 10  # "YYYY-MM-DD hh:mm:ss": the space Arrow writes between date and time


def _timestamp_text(col: pa.Array, sep: str) -> pa.Array | None:
    """``isoformat(sep)`` of every value without its zone, or None when there is no
    vectorised rule (a zone other than UTC, nanoseconds, a year outside 1..9999)."""
    kind = col.type
    if kind.tz not in _UTC or kind.unit == "ns":
        return None
    if kind.tz is not None:  # the zone is written by the caller
        col = col.cast(pa.timestamp(kind.unit))
    low, high = pc.min_max(col.cast(pa.int64())).values()
    per_second = _PER_SECOND[kind.unit]
    if low.is_valid and not (_FIRST_SECOND * per_second <= low.as_py()
                             and high.as_py() < _AFTER_LAST_SECOND * per_second):
        return None  # Arrow would not write a four-digit year (nor has Python such a date)
    try:  # whole seconds, the common case: Arrow then writes no fraction, as Python does
        text = pc.cast(col.cast(pa.timestamp("s")), pa.string())
    except pa.ArrowInvalid:  # some rows have microseconds: Python writes six digits for them
        text = pc.cast(col.cast(pa.timestamp("us")), pa.string())
        whole = pc.ends_with(text, ".000000")
        if pc.any(whole).as_py():
            text = pc.if_else(whole, pc.utf8_slice_codeunits(text, 0, -7), text)
    if sep == " ":
        return text
    return pc.binary_replace_slice(text, _DATE_TIME_GAP, _DATE_TIME_GAP + 1, sep)


#: the seconds from the epoch of 0001-01-01 and of 10000-01-01 (Python's date range)
_FIRST_SECOND, _AFTER_LAST_SECOND = -62135596800, 253402300800
_PER_SECOND = {"s": 1, "ms": 1000, "us": 1_000_000}
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
                 ("\b", "\\b"), ("\f", "\\f"))
#: what JSON escapes in a string (ensure_ascii=False: nothing else)
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
#: the control characters with no short escape (\b \t \n \f \r have one)
_NEEDS_UNICODE_ESCAPE = r"[\x00-\x07\x0b\x0e-\x1f]"

Pieces = list[Any]  # literal text (str) and string arrays, joined row by row


def _escaped(text: pa.Array) -> pa.Array:
    """``dumps(v)[1:-1]`` of every value: the short JSON escapes vectorised; a value holding
    another control character (written ``\\u00XX``) in Python."""
    other = pc.match_substring_regex(text, _NEEDS_UNICODE_ESCAPE)
    escaped = text
    for plain, replacement in _JSON_ESCAPES:
        escaped = pc.replace_substring(escaped, plain, replacement)
    if pc.any(other).as_py():
        rows = pc.indices_nonzero(other)
        fixed = pa.array([dumps(v)[1:-1] for v in pc.take(text, rows).to_pylist()], pa.string())
        escaped = pc.replace_with_mask(escaped, other, fixed)
    return escaped


def _plain(text: pa.Array) -> bool:
    """True when no value holds a quote, a backslash or a control character: one scan of the
    column's bytes (a null's, if any, too: that can only send it the longer way)."""
    data = _concatenated(text)
    if b'"' in data or b"\\" in data:
        return False
    low = pc.min(pa.Array.from_buffers(pa.uint8(), len(data), [None, pa.py_buffer(data)]))
    return not low.is_valid or low.as_py() >= 0x20


def _string_pieces(text: pa.Array) -> Pieces:
    """A JSON string per value, quoted: most values need no escape, so only the rows that
    hold a quote, a backslash or a control character are rewritten."""
    if _plain(text):
        return ['"', text, '"']
    needs = pc.fill_null(pc.match_substring_regex(text, _NEEDS_ESCAPE), False)
    if pc.any(needs).as_py():
        rows = pc.indices_nonzero(needs)
        text = pc.replace_with_mask(text, needs, _escaped(pc.take(text, rows)))
    return ['"', text, '"']


class _Fallback(Exception):
    """Encode this column in Python."""


def _value_pieces(col: pa.Array) -> Pieces:
    """The JSON of every non-null value of ``col`` as pieces (nulls are filled by the caller)."""
    kind = col.type
    if pa.types.is_integer(kind):
        return [pc.cast(col, pa.string())]
    if pa.types.is_floating(kind):
        finite = pc.is_finite(col.cast(pa.float64()))
        if not pc.all(pc.fill_null(finite, True)).as_py():
            raise NotVectorised("a float is NaN or infinite")
        return [_float_text(col, dumps)]
    if pa.types.is_boolean(kind):
        return [pc.if_else(col, "true", "false")]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _string_pieces(col.cast(pa.string()))
    if pa.types.is_decimal(kind):
        return [_decimal_json(col)]
    if pa.types.is_date(kind):
        return ['"', pc.cast(col, pa.string()), '"']
    if pa.types.is_timestamp(kind):
        stamp = _timestamp_text(col, "T")
        if stamp is None:
            raise _Fallback
        return ['"', stamp, '"' if kind.tz is None else '+00:00"']
    raise _Fallback


def _column_pieces(col: pa.Array, encode: Callable[[Any], str] = dumps) -> Pieces:
    """The JSON text of every value of ``col`` as pieces (null as ``null``); ``encode``
    writes the values with no vectorised rule (nested ones)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    kind = col.type
    if pa.types.is_dictionary(kind):
        return _column_pieces(col.dictionary_decode(), encode)
    if pa.types.is_null(kind):
        return ["null"]
    try:
        pieces = _value_pieces(col)
    except _Fallback:
        return [pa.array([encode(v) for v in col.to_pylist()], pa.string())]
    if not col.null_count:
        return pieces
    return [pc.fill_null(_joined(pieces, len(col)), "null")]


def _joined(pieces: Pieces, rows: int) -> pa.Array:
    """Pieces joined row by row into one string array (literals merged first)."""
    merged: Pieces = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if not any(isinstance(piece, pa.Array) for piece in merged):
        return pa.array(["".join(merged)] * rows, pa.string())
    if len(merged) == 1:
        return merged[0]
    return pc.binary_join_element_wise(*merged, "")


def json_column(col: pa.Array) -> pa.Array:
    """The JSON text of every value of ``col`` (null as ``null``)."""
    return _joined(_column_pieces(col), len(col))


#: json.dumps with the compact separators (",", ":"), as many other writers write JSON lines
compact_dumps: Callable[[Any], str] = json.JSONEncoder(
    default=json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def jsonl_bytes(batch: pa.RecordBatch | pa.Table, separator: str = "\n", *,
                compact: bool = False) -> bytes:
    """The JSON lines of ``batch`` (each object followed by ``separator``), keys in column
    order; ``compact`` writes them as ``compact_dumps`` does. Raises :class:`NotVectorised`
    for a batch the dict writer must write."""
    return jsonl_view(batch, separator, compact=compact).tobytes()


def jsonl_view(batch: pa.RecordBatch | pa.Table, separator: str = "\n", *,
               compact: bool = False) -> memoryview:
    """:func:`jsonl_bytes` without the copy: a view of the encoded lines' buffer (a file
    takes it as it is)."""
    names = batch.schema.names
    if len(set(names)) != len(names):
        raise NotVectorised("duplicate column names")
    if not names:
        return memoryview(("{}" + separator).encode() * batch.num_rows)
    comma, colon, encode = (",", ":", compact_dumps) if compact else (", ", ": ", dumps)
    pieces: Pieces = []
    for index, name in enumerate(names):
        pieces.append(("{" if index == 0 else comma) + dumps(name) + colon)
        pieces.extend(_column_pieces(batch.column(index), encode))
    pieces.append("}" + separator)
    return _text_view(_joined(pieces, batch.num_rows))


def _concatenated(lines: pa.Array) -> bytes:
    """The text of a string array, end to end."""
    return _text_view(lines).tobytes()


def _text_view(lines: pa.Array) -> memoryview:
    """The text of a string array, end to end, straight from its buffers (no copy)."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if not len(lines):
        return memoryview(b"")
    _validity, offsets_buffer, data = lines.buffers()
    offsets = memoryview(offsets_buffer).cast("b").cast(
        "q" if pa.types.is_large_string(lines.type) else "i")
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(data)[start:end]


# -- CSV ----------------------------------------------------------------------------------

def _csv_cell(value: Any) -> str:
    """``adf_core.data.formats.csv_cell``, as the csv module then writes it."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


def _csv_python(col: pa.Array) -> pa.Array:
    return pa.array([_csv_cell(v) for v in col.to_pylist()], pa.string())


def _csv_repr(value: Any) -> str:
    return repr(value)


def csv_column(col: pa.Array) -> pa.Array:
    """The CSV cell text of every value of ``col``, unquoted (null as the empty cell)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    kind = col.type
    if pa.types.is_dictionary(kind):
        return csv_column(col.dictionary_decode())
    if pa.types.is_null(kind):
        return pa.array([""] * len(col), pa.string())
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind) or pa.types.is_date(kind):
        text = pc.cast(col, pa.string())
    elif pa.types.is_floating(kind):
        text = _float_text(col, _csv_repr)
    elif pa.types.is_boolean(kind):
        text = pc.if_else(col, "True", "False")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = col.cast(pa.string())
    elif pa.types.is_timestamp(kind):
        stamp = _timestamp_text(col, " ")
        if stamp is None:
            return _csv_python(col)
        text = stamp if kind.tz is None else pc.binary_join_element_wise(stamp, "+00:00", "")
    else:
        return _csv_python(col)
    return pc.fill_null(text, "")


def _csv_quote(text: pa.Array, delimiter: str, alone: bool) -> pa.Array:
    """Quote as the csv module does (QUOTE_MINIMAL): a cell holding the delimiter, a quote,
    CR or LF; an empty cell when it is the only one of its row."""
    special = pc.match_substring_regex(text, "[" + _regex_escape(delimiter) + '"\r\n]')
    if alone:
        special = pc.or_(special, pc.equal(pc.utf8_length(text), 0))
    if not pc.any(special).as_py():
        return text
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(special, quoted, text)


def _regex_escape(char: str) -> str:
    return "\\" + char if not char.isalnum() else char


def csv_header(names: list[str], delimiter: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(names)
    return out.getvalue().encode()


def csv_bytes(batch: pa.RecordBatch | pa.Table, delimiter: str) -> bytes:
    """The CSV rows of ``batch`` (no header), as the dict writer writes them."""
    alone = batch.num_columns == 1
    cells = [_csv_quote(csv_column(batch.column(i)), delimiter, alone)
             for i in range(batch.num_columns)]
    if not cells:
        return b"\n" * batch.num_rows
    parts: list[Any] = []
    for index, cell in enumerate(cells):
        if index:
            parts.append(delimiter)
        parts.append(cell)
    parts.append("\n")
    return _concatenated(pc.binary_join_element_wise(*parts, ""))
