"""``adf graph``: draw a flow as an indented tree, a Mermaid flowchart or Graphviz dot."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import click

from adf_core.cli.common import get_registry

if TYPE_CHECKING:
    from adf_core.engine.definition import Leaf, Node


@click.command()
@click.argument("expression", required=False, metavar="[EXPR]")
@click.option("-f", "--file", "pipeline_file", type=click.Path(dir_okay=False),
              help="A pipeline file (TOML) instead of EXPR.")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text",
              show_default=True, help="Output format.")
@click.pass_context
def graph(ctx: click.Context, expression: str | None, pipeline_file: str | None,
          fmt: str) -> None:
    """Draw a flow (EXPR or -f FILE) without running it."""
    from pathlib import Path

    from adf_core.cli.redaction import learn_declared_by_name
    from adf_core.cli.run import build_flow
    from adf_core.cli.spec import make_spec
    from adf_core.observe.secrets import Redactor

    spec = make_spec(expression, sources=None, transforms=(), dests=None,
                     pipeline_file=Path(pipeline_file) if pipeline_file else None,
                     options=(), params=(), defaults={})
    redactor = Redactor()
    redactor.learn(spec.options)
    learn_declared_by_name(redactor, spec, get_registry(ctx))
    flow = build_flow(spec, get_registry(ctx), redactor, ctx)
    render = {"text": render_text, "mermaid": render_mermaid, "dot": render_dot}[fmt]
    click.echo(render(flow.tree))


def _label(leaf: Leaf) -> str:
    ref = leaf.step.ref or leaf.alias
    name = leaf.alias if ref == leaf.alias else f"{leaf.alias}={ref}"
    after = ", after the run" if getattr(leaf.component, "after_run", False) else ""
    return f"{name} ({leaf.kind}{after})"


def render_text(root: Node) -> str:
    """An indented tree: stages of the top sequence, parallel groups and nested sequences."""
    from adf_core.engine.definition import Leaf, Parallel

    lines: list[str] = []

    def walk(node: Node, prefix: str, last: bool, top: bool, label: str = "") -> None:
        branch = "" if top else ("└── " if last else "├── ")
        head = f"{label}: " if label else ""
        if isinstance(node, Leaf):
            lines.append(f"{prefix}{branch}{head}{_label(node)}")
            return
        kind = "parallel" if isinstance(node, Parallel) else "sequence"
        lines.append(f"{prefix}{branch}{head}{kind}")
        inner = prefix + ("" if top else ("    " if last else "│   "))
        for index, child in enumerate(node.children):
            child_label = f"stage {index + 1}" if top else ""
            walk(child, inner, index == len(node.children) - 1, False, child_label)

    walk(root, "", True, True)
    return "\n".join(lines)


def edges(root: Node) -> tuple[list[Leaf], list[tuple[Leaf, Leaf]]]:
    """Every leaf, and an edge from each leaf to each leaf that runs right after it."""
    from adf_core.engine.definition import Parallel, Sequence, first_leaves, last_leaves, leaves

    found: list[tuple[Leaf, Leaf]] = []

    def walk(node: Node) -> None:
        if isinstance(node, Sequence | Parallel):
            for child in node.children:
                walk(child)
        if isinstance(node, Sequence):
            for before, after in itertools.pairwise(node.children):
                found.extend((a, b) for a in last_leaves(before) for b in first_leaves(after))

    walk(root)
    nodes = leaves(root)
    order = {id(leaf): index for index, leaf in enumerate(nodes)}
    return nodes, sorted(found, key=lambda e: (order[id(e[0])], order[id(e[1])]))


def _ids(nodes: list[Leaf]) -> dict[int, str]:
    return {id(leaf): f"n{index}" for index, leaf in enumerate(nodes, start=1)}


def render_mermaid(root: Node) -> str:
    nodes, links = edges(root)
    ids = _ids(nodes)
    lines = ["flowchart LR"]
    lines += [f'    {ids[id(n)]}["{_label(n)}"]' for n in nodes]
    lines += [f"    {ids[id(a)]} --> {ids[id(b)]}" for a, b in links]
    return "\n".join(lines)


def render_dot(root: Node) -> str:
    nodes, links = edges(root)
    ids = _ids(nodes)
    lines = ["digraph adf {", "    rankdir=LR;", "    node [shape=box];"]
    lines += [f'    {ids[id(n)]} [label="{_escape(_label(n))}"];' for n in nodes]
    lines += [f"    {ids[id(a)]} -> {ids[id(b)]};" for a, b in links]
    lines.append("}")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


