"""The ``filter`` condition language compiled to ``pyarrow.compute`` over a whole batch.

Same semantics as the record-by-record predicate of :mod:`adf_plugins.conditions` (which
stays the reference): a missing field is null; ``==``/``!=`` treat null as a value (``null ==
null`` is true); ordering comparisons with null are false; arithmetic with null is null and a
division by zero is null; ``and``/``or``/``not`` and the final result use Python truthiness (0,
"" and null are false). Whatever this compiler cannot express with exactly those semantics
(``%``, comparing values of different kinds, ``in`` over a field, an overflow) raises
:class:`Unsupported` for the batch, and ``filter`` evaluates that batch record by record, so
results and error messages stay the dict path's.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from adf_plugins.conditions import _CONSTANTS

Value = Any  # a pyarrow Array or Scalar
Node = Callable[[pa.RecordBatch], Value]


class Unsupported(Exception):
    """This batch is evaluated record by record."""


def compile_arrow(source: str) -> Callable[[pa.RecordBatch], pa.Array]:
    """A function from a batch to the boolean mask of the records that match ``source``
    (already checked by ``compile_condition``)."""
    tree = ast.parse(source.strip(), mode="eval")
    node = _compile(tree.body)

    def mask(batch: pa.RecordBatch) -> pa.Array:
        try:
            return _broadcast(_truthy(node(batch)), batch.num_rows)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError,
                TypeError, ValueError, OverflowError) as exc:
            raise Unsupported(str(exc)) from None

    return mask


def _broadcast(value: Value, rows: int) -> pa.Array:
    if isinstance(value, pa.Scalar):
        return pa.array([bool(value.as_py())] * rows, pa.bool_())
    return value


def _kind(value: Value) -> str:
    kind = value.type
    if pa.types.is_null(kind):
        return "null"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "number"
    if pa.types.is_decimal(kind):
        return "decimal"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    return "other"


def _truthy(value: Value) -> Value:
    kind = _kind(value)
    if kind == "null":
        return pa.scalar(False) if isinstance(value, pa.Scalar) else \
            pa.array([False] * len(value), pa.bool_())
    if kind == "bool":
        return pc.fill_null(value, False)
    if kind in ("number", "decimal"):
        return pc.fill_null(pc.not_equal(value, 0), False)
    if kind == "string":
        return pc.fill_null(pc.greater(pc.utf8_length(value), 0), False)
    if kind in ("date", "timestamp"):
        return pc.is_valid(value)
    raise Unsupported(f"truth of {value.type}")


def _constant(value: Any) -> Node:
    """A literal's scalar, made once rather than per batch (scalars are immutable); one
    Arrow cannot make fails per batch, where ``mask`` turns it into Unsupported."""
    try:
        scalar = pa.scalar(value)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError,
            ValueError, OverflowError):
        return lambda b: pa.scalar(value)
    return lambda b: scalar


def _compile(node: ast.AST) -> Node:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v) for v in node.values]
        combine = pc.and_ if isinstance(node.op, ast.And) else pc.or_

        def boolean(batch: pa.RecordBatch) -> Value:
            result = _truthy(parts[0](batch))
            for part in parts[1:]:
                result = combine(result, _truthy(part(batch)))
            return result

        return boolean
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda b: pc.invert(_truthy(operand(b)))
        if isinstance(node.op, ast.USub):
            return lambda b: pc.negate_checked(_number(operand(b)))
        return lambda b: _number(operand(b))
    if isinstance(node, ast.Compare):
        return _compile_compare(node)
    if isinstance(node, ast.BinOp):
        return _compile_arithmetic(node)
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        lowered = node.id.lower()
        if lowered in _CONSTANTS:
            return _constant(_CONSTANTS[lowered])
        return _field(node.id)
    if isinstance(node, ast.Call):  # field("name"), checked by compile_condition
        return _field(node.args[0].value)  # type: ignore[attr-defined]
    raise Unsupported(type(node).__name__)


def _field(name: str) -> Node:
    def get(batch: pa.RecordBatch) -> Value:
        index = batch.schema.get_field_index(name)
        if index < 0:
            return pa.nulls(batch.num_rows)
        column = batch.column(index)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        return column

    return get


def _number(value: Value) -> Value:
    if _kind(value) not in ("number", "null"):
        raise Unsupported("not a number")
    return value


_ARITHMETIC = {ast.Add: pc.add_checked, ast.Sub: pc.subtract_checked,
               ast.Mult: pc.multiply_checked}


def _compile_arithmetic(node: ast.BinOp) -> Node:
    left, right = _compile(node.left), _compile(node.right)
    if isinstance(node.op, ast.Div):
        def divide(batch: pa.RecordBatch) -> Value:
            a, b = _number(left(batch)), _number(right(batch))
            if _kind(a) == "null" or _kind(b) == "null":
                return pa.scalar(None, pa.float64())
            b = pc.cast(b, pa.float64())
            zero = pc.equal(b, 0.0)
            safe = pc.if_else(zero, pa.scalar(None, pa.float64()), b)
            return pc.divide(pc.cast(a, pa.float64()), safe)

        return divide
    op = _ARITHMETIC.get(type(node.op))
    if op is None:
        raise Unsupported("operator")
    concatenates = isinstance(node.op, ast.Add)

    def arithmetic(batch: pa.RecordBatch) -> Value:
        a, b = left(batch), right(batch)
        kinds = {_kind(a), _kind(b)}
        if concatenates and kinds <= {"string", "null"} and "string" in kinds:
            if "null" in kinds:
                return pa.scalar(None, pa.string())
            return pc.binary_join_element_wise(a, b, "")
        if not kinds <= {"number", "null"}:
            raise Unsupported("not numbers")
        if "null" in kinds:
            return pa.scalar(None, pa.float64())
        return op(a, b)

    return arithmetic


def _comparable(a: Value, b: Value) -> bool:
    kinds = {_kind(a), _kind(b)}
    return (len(kinds) == 1 and kinds != {"other"}) or (kinds == {"number", "decimal"} and \
        not any(pa.types.is_floating(v.type) for v in (a, b)))


def _equal(a: Value, b: Value) -> Value:
    """Python's ``a == b``: null equals null only; values of other kinds are unequal."""
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    if "null" in (_kind(a), _kind(b)):
        return both_null
    if not _comparable(a, b):
        if {_kind(a), _kind(b)} & {"bool", "other"} or {_kind(a), _kind(b)} <= {
                "number", "decimal"}:
            raise Unsupported("kinds Python compares by value")  # True == 1, Decimal == float
        return both_null
    return pc.or_(pc.fill_null(pc.equal(a, b), False), both_null)


_ORDER = {ast.Lt: pc.less, ast.LtE: pc.less_equal, ast.Gt: pc.greater,
          ast.GtE: pc.greater_equal}


def _compile_compare(node: ast.Compare) -> Node:
    left = _compile(node.left)
    rights = [(type(op), _compile(r), r) for op, r in zip(node.ops, node.comparators,
                                                          strict=True)]

    def compare(batch: pa.RecordBatch) -> Value:
        a = left(batch)
        result: Value = None
        for op, right, right_node in rights:
            if op in (ast.In, ast.NotIn):
                part = _member(a, right_node, batch)
                if op is ast.NotIn:
                    part = pc.invert(part)
                b = a
            else:
                b = right(batch)
                if op is ast.Eq:
                    part = _equal(a, b)
                elif op is ast.NotEq:
                    part = pc.invert(_equal(a, b))
                elif op in (ast.Is, ast.IsNot):
                    if _kind(b) != "null":
                        raise Unsupported("`is` with a value")
                    part = pc.is_null(a) if op is ast.Is else pc.is_valid(a)
                else:
                    if "null" in (_kind(a), _kind(b)):
                        part = pa.scalar(False)
                    elif not _comparable(a, b) or _kind(a) == "bool":
                        raise Unsupported("ordering of different kinds")
                    else:
                        part = pc.fill_null(_ORDER[op](a, b), False)
            result = part if result is None else pc.and_(result, part)
            a = b
        return result

    return compare


def _member(a: Value, node: ast.AST, batch: pa.RecordBatch) -> Value:
    if not isinstance(node, ast.List | ast.Tuple | ast.Set) or not all(
            isinstance(e, ast.Constant) for e in node.elts):
        raise Unsupported("`in` over something other than a list of literals")
    values = [e.value for e in node.elts]  # type: ignore[attr-defined]
    if isinstance(a, pa.Scalar):
        raise Unsupported("`in` with a literal on the left")
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    kind = _kind(a)
    if kind == "null":
        return pa.array([None in values] * len(a), pa.bool_())
    if present and not ((kinds <= {int, float} and kind == "number")
                        or (kinds == {str} and kind == "string")):
        raise Unsupported("`in` with values of another kind")
    value_set = pa.array(present, a.type) if present else pa.array([], a.type)
    found = pc.fill_null(pc.is_in(a, value_set=value_set, skip_nulls=True), False)
    if None in values:
        found = pc.or_(found, pc.is_null(a))
    return found
