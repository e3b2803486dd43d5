"""``adf graph``: text, Mermaid and dot renderings of a flow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXPR = "numbers, src=jsonl | (p1=plus_one | p2=plus_one), fail | jsonl"


def test_text_tree(invoke: Any) -> None:
    result = invoke(["graph", EXPR])
    assert result.exit_code == 0
    assert result.output == (
        "sequence\n"
        "├── stage 1: parallel\n"
        "│   ├── numbers (source)\n"
        "│   └── src=jsonl (source)\n"
        "├── stage 2: parallel\n"
        "│   ├── sequence\n"
        "│   │   ├── p1=plus_one (transform)\n"
        "│   │   └── p2=plus_one (transform)\n"
        "│   └── fail (transform)\n"
        "└── stage 3: jsonl (destination)\n"
    )


def test_mermaid_edges_follow_the_stages(invoke: Any) -> None:
    lines = invoke(["graph", EXPR, "--format", "mermaid"]).output.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    n1["numbers (source)"]' in lines
    edges = [line.strip() for line in lines if "-->" in line]
    assert edges == ["n1 --> n3", "n1 --> n5", "n2 --> n3", "n2 --> n5", "n3 --> n4",
                     "n4 --> n6", "n5 --> n6"]


def test_dot_from_a_pipeline_file(invoke: Any, tmp_path: Path) -> None:
    flow = tmp_path / "flow.toml"
    flow.write_text('pipeline = "numbers | jsonl"\n[components.jsonl]\npath = "x"\n')
    result = invoke(["graph", "-f", str(flow), "--format", "dot"])
    assert result.output == (
        'digraph adf {\n    rankdir=LR;\n    node [shape=box];\n'
        '    n1 [label="numbers (source)"];\n    n2 [label="jsonl (destination)"];\n'
        "    n1 -> n2;\n}\n"
    )


def test_graph_errors_are_usage_errors(invoke: Any) -> None:
    assert invoke(["graph", "numbers | jsnl"]).exit_code == 2
    assert invoke(["graph"]).exit_code == 2
