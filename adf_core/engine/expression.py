"""Pipe expressions: ``"source=db, target=db | compare | s3, notify"``.

``|`` separates stages, ``,`` separates parallel members, parentheses group, ``alias=name``
names an instance. A name resolves through a resolver (the plugin registry by default) or,
written ``module:attr``, by import. Errors point at the column with a caret.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adf_core.engine import seams
from adf_core.engine.definition import Parallel, Sequence, callable_problem, kind_at
from adf_core.engine.steps import Step
from adf_core.errors import ExpressionSyntaxError, FlowDefinitionError

Resolver = Callable[[str, str], Callable[..., Any]]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*(?::[A-Za-z_][A-Za-z0-9_.]*)?")
_PUNCT = set("|,()=")
MAX_DEPTH = 64


@dataclass
class Token:
    kind: str  # "name", one of "|,()=", or "end"
    text: str
    column: int  # 1-based


@dataclass
class Ref:
    name: str
    alias: str | None
    column: int


@dataclass
class Group:
    kind: str  # "sequence" | "parallel"
    members: list[Any]


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(expression):
        char = expression[index]
        if char.isspace():
            index += 1
        elif char in _PUNCT:
            tokens.append(Token(char, char, index + 1))
            index += 1
        else:
            match = _NAME.match(expression, index)
            if not match:
                raise ExpressionSyntaxError(
                    f"unexpected character {char!r}; names are letters, digits, '_', '.', '-' "
                    "or module:attr", expression, index + 1)
            tokens.append(Token("name", match.group(), index + 1))
            index = match.end()
    tokens.append(Token("end", "", len(expression) + 1))
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.index = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: Token, expected: str) -> ExpressionSyntaxError:
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return ExpressionSyntaxError(f"expected {expected}, found {found}", self.expression,
                                     token.column)

    def parse(self) -> Any:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "a component name")
        tree = self.pipeline()
        if self.peek().kind != "end":
            raise self.fail(self.peek(), "'|', ',' or the end")
        return tree

    def pipeline(self) -> Any:
        stages = [self.parallel()]
        while self.peek().kind == "|":
            self.take()
            stages.append(self.parallel())
        return stages[0] if len(stages) == 1 else Group("sequence", stages)

    def parallel(self) -> Any:
        members = [self.term()]
        while self.peek().kind == ",":
            self.take()
            members.append(self.term())
        return members[0] if len(members) == 1 else Group("parallel", members)

    def term(self) -> Any:
        token = self.take()
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionSyntaxError(
                    f"parentheses nested deeper than {MAX_DEPTH}", self.expression, token.column)
            inner = self.pipeline()
            self.depth -= 1
            closing = self.take()
            if closing.kind != ")":
                raise self.fail(closing, "')'")
            return inner
        if token.kind != "name":
            raise self.fail(token, "a component name or '('")
        if self.peek().kind == "=":
            self.take()
            target = self.take()
            if target.kind != "name":
                raise self.fail(target, f"a component name after '{token.text}='")
            if ":" in token.text or "." in token.text:
                raise ExpressionSyntaxError(
                    f"alias {token.text!r} must be a plain identifier", self.expression,
                    token.column)
            return Ref(target.text, token.text, target.column)
        return Ref(token.text, None, token.column)


def parse_expression(expression: str) -> Any:
    """Parse into ``Ref`` leaves and ``Group`` nodes; raise ExpressionSyntaxError."""
    if not isinstance(expression, str):
        kind = type(expression).__name__
        raise FlowDefinitionError(f"an expression must be a string, got {kind}")
    return _Parser(expression).parse()


def import_reference(reference: str) -> Callable[..., Any]:
    """Resolve ``module:attr`` (``attr`` may be dotted) by import."""
    module_name, _, attr = reference.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise FlowDefinitionError(f"cannot import module {module_name!r} for {reference!r}: {exc}"
                                  ) from exc
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise FlowDefinitionError(
                f"module {module_name!r} has no attribute {attr!r} (from {reference!r})"
            ) from None
    if not callable(value):
        raise FlowDefinitionError(f"{reference!r} is not callable")
    return value


def default_resolver(name: str, kind: str) -> Callable[..., Any]:
    """``module:attr`` by import; a bare name through the resolver the plugin layer
    installed (the component registry)."""
    if ":" in name:
        return import_reference(name)
    resolve = seams.name_resolver()
    if resolve is None:
        raise FlowDefinitionError(
            f"cannot resolve {name!r}: no component registry is installed; import adf_core "
            "(from adf_core import DataFlow) or pass resolver=")
    return resolve(name, kind)


def build_definition(expression: str, resolver: Resolver | None = None) -> Sequence:
    """Turn an expression into a definition tree of ``Step`` objects."""
    tree = _flatten(parse_expression(expression))
    stages = tree.members if isinstance(tree, Group) and tree.kind == "sequence" else [tree]
    resolve = resolver or default_resolver
    count = len(stages)

    def convert(node: Any, first: bool, last: bool) -> Any:
        if isinstance(node, Ref):
            return _resolve_ref(node, kind_at(first, last), resolve, expression)
        if node.kind == "parallel":
            return Parallel([convert(member, first, last) for member in node.members])
        end = len(node.members) - 1
        return Sequence([convert(member, first and i == 0, last and i == end)
                         for i, member in enumerate(node.members)])

    return Sequence([convert(stage, index == 0, index == count - 1)
                     for index, stage in enumerate(stages)])


def _flatten(node: Any) -> Any:
    """Splice parenthesised groups into a parent of the same kind, so that stage positions
    (and so the kind a name resolves as) are those of the canonical flow."""
    if isinstance(node, Ref):
        return node
    members: list[Any] = []
    for member in node.members:
        flat = _flatten(member)
        if isinstance(flat, Group) and flat.kind == node.kind:
            members.extend(flat.members)
        else:
            members.append(flat)
    return Group(node.kind, members)


def _resolve_ref(ref: Ref, kind: str, resolve: Resolver, expression: str) -> Step:
    try:
        fn = resolve(ref.name, kind)
    except (FlowDefinitionError, LookupError) as exc:
        pointer = " " * (ref.column - 1) + "^"
        raise FlowDefinitionError(f"{exc}\n  {expression}\n  {pointer}") from exc
    problem = callable_problem(fn.fn if isinstance(fn, Step) else fn)
    if problem is not None:
        pointer = " " * (ref.column - 1) + "^"
        source = "imported" if ":" in ref.name else "as the resolver returned it"
        raise FlowDefinitionError(
            f"{ref.name!r} ({source}) cannot be a component: {problem}\n"
            f"  {expression}\n  {pointer}")
    default = ref.name.rpartition(":")[2].rpartition(".")[2] if ":" in ref.name else ref.name
    if isinstance(fn, Step):
        return Step(fn.fn, name=ref.alias or fn.name or default, retries=fn.retries,
                    timeout=fn.timeout, executor=fn.executor, options=fn.options,
                    buffer_size=fn.buffer_size, ref=ref.name, kind=kind,
                    on_error=fn.on_error, max_errors=fn.max_errors)
    return Step(fn, name=ref.alias or default, ref=ref.name, kind=kind)
