"""Arrow columns as JSON and CSV text, column by column, without a Python object per row.

Every value is written exactly as the dict writers write it (``adf_core.data.encoding``):
floats as Python's ``repr`` (``1.0``, ``1e+20``), decimals as JSON numbers (an integral one as
an integer), dates and timestamps as ISO 8601 (``isoformat()`` in JSON, ``str()`` in CSV),
booleans as ``true``/``True``. Arrow's own formatting differs in a few places (exponents,
``1`` for ``1.0``, trailing decimal zeros); those rows are rewritten in Python, which is rare
in real data. Types with no vectorised rule (times, binary, nested values, timestamps in a
zone other than UTC) are encoded in Python for that column alone.

A batch holding NaN or an infinity is not encoded here as JSON (:class:`NotVectorised`): the
caller writes it through the dict writer, whose rule for non-finite floats applies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from adf_core.data.encoding import dumps


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
    # Python writes 1.0 and -0.0 where Arrow writes 1 and -0
    whole = pc.fill_null(pc.match_substring_regex(text, r"^-?\d+$"), False)
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
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


def _timestamp_text(col: pa.Array, sep: str) -> pa.Array | None:
    kind = col.type
    if kind.tz not in (None, "UTC", "+00:00", "Z", "Etc/UTC"):
        return None
    if kind.unit == "ns":
        return None
    if kind.unit == "ms":
        col = col.cast(pa.timestamp("us", kind.tz))
    text = pc.cast(col, pa.string())
    text = pc.replace_substring_regex(text, r"\.0+(Z?)$", r"\1")
    text = pc.replace_substring(text, " ", sep, max_replacements=1)
    if kind.tz is not None:
        text = pc.replace_substring_regex(text, "Z$", "+00:00")
    return text


_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
                 ("\b", "\\b"), ("\f", "\\f"))


def _quoted(text: pa.Array) -> pa.Array:
    for plain, escaped in _JSON_ESCAPES:
        text = pc.replace_substring(text, plain, escaped)
    if pc.any(pc.fill_null(pc.match_substring_regex(text, "[\\x00-\\x1f]"), False)).as_py():
        raise _Fallback
    return pc.binary_join_element_wise('"', text, '"', "")


class _Fallback(Exception):
    """Encode this column in Python."""


def json_column(col: pa.Array) -> pa.Array:
    """The JSON text of every value of ``col`` (null as ``null``)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    kind = col.type
    try:
        if pa.types.is_dictionary(kind):
            return json_column(col.dictionary_decode())
        if pa.types.is_null(kind):
            return pa.array(["null"] * len(col), pa.string())
        if pa.types.is_integer(kind):
            text = pc.cast(col, pa.string())
        elif pa.types.is_floating(kind):
            finite = pc.is_finite(col.cast(pa.float64()))
            if not pc.all(pc.fill_null(finite, True)).as_py():
                raise NotVectorised("a float is NaN or infinite")
            text = _float_text(col, dumps)
        elif pa.types.is_boolean(kind):
            text = pc.if_else(col, "true", "false")
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = _quoted(col.cast(pa.string()))
        elif pa.types.is_decimal(kind):
            text = _decimal_json(col)
        elif pa.types.is_date(kind):
            text = pc.binary_join_element_wise('"', pc.cast(col, pa.string()), '"', "")
        elif pa.types.is_timestamp(kind):
            stamp = _timestamp_text(col, "T")
            if stamp is None:
                raise _Fallback
            text = pc.binary_join_element_wise('"', stamp, '"', "")
        else:
            raise _Fallback
    except _Fallback:
        return pa.array([dumps(v) for v in col.to_pylist()], pa.string())
    return pc.fill_null(text, "null")


def jsonl_bytes(batch: pa.RecordBatch | pa.Table, separator: str = "\n") -> bytes:
    """The JSON lines of ``batch`` (each object followed by ``separator``), keys in column
    order. Raises :class:`NotVectorised` for a batch the dict writer must write."""
    names = batch.schema.names
    if len(set(names)) != len(names):
        raise NotVectorised("duplicate column names")
    parts: list[Any] = []
    for index, name in enumerate(names):
        parts.append(("{" if index == 0 else ", ") + dumps(name) + ": ")
        parts.append(json_column(batch.column(index)))
    if not names:
        return ("{}" + separator).encode() * batch.num_rows
    parts.append("}" + separator)
    return _concatenated(pc.binary_join_element_wise(*parts, ""))


def _concatenated(lines: pa.Array) -> bytes:
    """The text of a string array, end to end, straight from its buffers."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if not len(lines):
        return b""
    _validity, offsets_buffer, data = lines.buffers()
    offsets = memoryview(offsets_buffer).cast("b").cast(
        "q" if pa.types.is_large_string(lines.type) else "i")
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(data)[start:end].tobytes()


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
        text = stamp
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
