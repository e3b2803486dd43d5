"""After-run components: taken out of the definition, run once the rest has ended.

Wherever one is written (usually the last stage, ``out=file, notify``), a component declared
``component(after_run=True)`` leaves its stage (a stage left empty disappears) and runs after
the flow, whether it succeeded or failed, once every commit has settled. It receives
``report`` (see :mod:`adf_core.engine.report`), the final context, and as ``upstream`` the
outputs of what preceded it where it was written (a stream that was read is gone: ``None``).
"""

from __future__ import annotations

from adf_core.engine.definition import (
    Leaf,
    Node,
    Parallel,
    Sequence,
    assign_positions,
    last_leaves,
    leaves,
)
from adf_core.engine.markers import is_after_run

#: The position after-run components report (in errors, events and the plan).
POSITION = "after the run"


def split_after_run(root: Sequence) -> tuple[Sequence, list[tuple[Leaf, tuple[str, ...]]]]:
    """The definition without its after-run leaves, and each of those with the aliases whose
    outputs it would have received as ``upstream`` where it was written."""
    if not any(is_after_run(leaf.step) for leaf in leaves(root)):
        return root, []
    found: list[tuple[Leaf, tuple[str, ...]]] = []
    _collect(root, (), found)
    stripped = _strip(root)
    if stripped is None:
        reduced = Sequence([])
    elif isinstance(stripped, Sequence):
        reduced = stripped
    else:
        reduced = Sequence([stripped])
    assign_positions(reduced)
    stages = len(reduced.children)
    after = {leaf.alias for leaf, _ in found}
    cleaned = []
    for leaf, upstream in found:
        leaf.position = POSITION
        leaf.stage = stages + 1
        cleaned.append((leaf, tuple(alias for alias in upstream if alias not in after)))
    return reduced, cleaned


def _collect(node: Node, upstream: tuple[str, ...],
             found: list[tuple[Leaf, tuple[str, ...]]]) -> None:
    """Walk the tree as the runner does, noting what each after-run leaf would receive."""
    if isinstance(node, Leaf):
        if is_after_run(node.step):
            found.append((node, upstream))
        return
    if isinstance(node, Parallel):
        for child in node.children:
            _collect(child, upstream, found)
        return
    for child in node.children:
        _collect(child, upstream, found)
        upstream = tuple(leaf.alias for leaf in last_leaves(child))


def _strip(node: Node) -> Node | None:
    """``node`` without after-run leaves, kept canonical (no empty or one-member groups,
    no group directly inside a group of its own kind)."""
    if isinstance(node, Leaf):
        return None if is_after_run(node.step) else node
    kind = type(node)
    kept: list[Node] = []
    for child in node.children:
        stripped = _strip(child)
        if stripped is None:
            continue
        if type(stripped) is kind:
            kept.extend(stripped.children)
        else:
            kept.append(stripped)
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return Sequence(kept) if kind is Sequence else Parallel(kept)
