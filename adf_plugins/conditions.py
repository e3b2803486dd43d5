"""A small condition language for ``filter``, compiled to closures (never ``eval``).

Grammar (a subset of Python expression syntax, parsed with :mod:`ast` and checked node by node)::

    condition := or-expr
    or-expr   := and-expr ("or" and-expr)*
    and-expr  := not-expr ("and" not-expr)*
    not-expr  := "not" not-expr | comparison
    comparison:= value (op value)*        op: == != < <= > >= in, not in, is, is not
    value     := field | literal | "(" condition ")" | "[" literal, ... "]" | "-" value
                 | value (+ - * / %) value
    literal   := number | "string" | 'string' | true | false | null | True | False | None

A bare name is a field of the record (a missing field is ``null``); a field whose name is not
an identifier is written ``field("unit price")``. Anything else — calls, attribute access,
subscripts, lambdas, comprehensions, dunder names — is rejected before any record is read.
Ordering comparisons with ``null`` are false (as in SQL); comparing a number with a string is
an error that names the record. A condition nested deeper than :data:`MAX_DEPTH` levels is a
ConditionError (never a RecursionError); compiling takes time linear in its length.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Getter = Callable[[Record], Any]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_CONSTANTS = {"true": True, "false": False, "null": None, "none": None}
#: How deeply a condition may nest (parentheses, ``not``, arithmetic): evaluation recurses
#: once per level, so a deeper one would exhaust the stack while records are filtered.
MAX_DEPTH = 100


class ConditionError(ValueError):
    """The condition is not valid in the condition language."""


def _reject(node: ast.AST, source: str, why: str) -> ConditionError:
    col = getattr(node, "col_offset", 0)
    pointer = " " * col + "^"
    return ConditionError(f"{why} at column {col + 1}\n  {source}\n  {pointer}")


def compile_condition(source: str) -> Callable[[Record], bool]:
    """Compile ``source`` into a predicate over records; raise ConditionError if it is invalid."""
    text = source.strip()
    if not text:
        raise ConditionError("the condition is empty")
    too_deep = ConditionError(
        f"the condition is nested more than {MAX_DEPTH} levels deep (parentheses, `not`, "
        "arithmetic): write it flatter, e.g. `a and b and c` instead of nested groups")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        if "too many nested" in exc.msg:
            raise too_deep from None
        col = (exc.offset or 1) - 1
        raise ConditionError(
            f"invalid condition: {exc.msg} at column {col + 1}\n  {text}\n  {' ' * col}^"
        ) from None
    except (RecursionError, MemoryError):
        raise too_deep from None
    if _depth(tree.body) > MAX_DEPTH:
        raise too_deep
    getter = _compile(tree.body, text)
    return lambda record: bool(getter(record))


def condition_fields(source: str) -> list[str]:
    """The field names a (valid) condition reads, in order of appearance: bare names that
    are not constants, and ``field("a b")``."""
    found: dict[str, None] = {}
    for node in ast.walk(ast.parse(source.strip(), mode="eval")):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args and \
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found[node.args[0].value] = None
        elif isinstance(node, ast.Name) and node.id.lower() not in _CONSTANTS and \
                node.id != "field":
            found[node.id] = None
    return list(found)


def _depth(root: ast.AST) -> int:
    """How many expressions nest in ``root`` (operators and contexts aside), walked without
    recursion."""
    deepest, pending = 0, [(root, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + isinstance(child, ast.expr))
                       for child in ast.iter_child_nodes(node))
    return deepest


def _segment(src: str, node: ast.AST) -> Callable[[], str]:
    """The source text of ``node``, found only when an error quotes it: finding it scans
    ``src``, and doing so for every node made compiling quadratic in the condition's length."""
    return lambda: ast.get_source_segment(src, node) or src


def _compile(node: ast.AST, src: str) -> Getter:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, src) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, src)
        if isinstance(node.op, ast.Not):
            return lambda r: not operand(r)
        if isinstance(node.op, ast.USub):  # -null is null, as arithmetic with null is
            return lambda r: None if (value := operand(r)) is None else -value
        if isinstance(node.op, ast.UAdd):
            return operand
        raise _reject(node, src, "unsupported operator")
    if isinstance(node, ast.Compare):
        return _compile_compare(node, src)
    if isinstance(node, ast.BinOp):
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise _reject(node, src, "unsupported operator")
        left, right = _compile(node.left, src), _compile(node.right, src)
        text = _segment(src, node)

        def arithmetic(record: Record) -> Any:
            a, b = left(record), right(record)
            if a is None or b is None:
                return None
            if not (isinstance(a, int | float) and isinstance(b, int | float)) and not (
                isinstance(node.op, ast.Add) and isinstance(a, str) and isinstance(b, str)
            ):
                raise ConditionError(
                    f"cannot evaluate {text()!r}: {a!r} and {b!r} are not numbers")
            try:
                return op(a, b)
            except ZeroDivisionError:
                return None

        return arithmetic
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, str | int | float | bool | type(None)):
            raise _reject(node, src, "unsupported literal")
        value = node.value
        return lambda r: value
    if isinstance(node, ast.Name):
        return _field(node, node.id, src)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_compile(e, src) for e in node.elts]
        return lambda r: [item(r) for item in items]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "field"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        name = node.args[0].value
        return lambda r: r.get(name)
    if isinstance(node, ast.Call):
        raise _reject(node, src, 'function calls are not allowed (only field("name"))')
    if isinstance(node, ast.Attribute):
        raise _reject(node, src, "attribute access is not allowed")
    if isinstance(node, ast.Subscript):
        raise _reject(node, src, "subscripts are not allowed")
    raise _reject(node, src, f"{type(node).__name__} is not allowed in a condition")


def _field(node: ast.AST, name: str, src: str) -> Getter:
    if name.startswith("__"):
        raise _reject(node, src, f"the name {name!r} is not allowed")
    lowered = name.lower()
    if lowered in _CONSTANTS:
        value = _CONSTANTS[lowered]
        return lambda r: value
    return lambda r: r.get(name)


def _compile_compare(node: ast.Compare, src: str) -> Getter:
    left = _compile(node.left, src)
    pairs: list[tuple[Callable[[Any, Any], bool], bool, Getter]] = []
    text = _segment(src, node)
    for op_node, right_node in zip(node.ops, node.comparators, strict=True):
        op = _COMPARE.get(type(op_node))
        if op is None:  # pragma: no cover - every ast.cmpop is mapped
            raise _reject(node, src, "unsupported comparison")
        pairs.append((op, isinstance(op_node, _ORDERING), _compile(right_node, src)))

    def compare(record: Record) -> bool:
        a = left(record)
        for op, ordering, right in pairs:
            b = right(record)
            if ordering and (a is None or b is None):
                return False
            try:
                if not op(a, b):
                    return False
            except TypeError:
                raise ConditionError(
                    f"cannot evaluate {text()!r}: {a!r} and {b!r} do not compare"
                ) from None
            a = b
        return True

    return compare
