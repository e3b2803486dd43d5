"""What the commands share: the registry they read and small output helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from adf_core.plugins.registry import Registry


def get_registry(ctx: click.Context) -> Registry:
    """The registry in ``ctx.obj`` (tests pass one), else the installed plugins' registry."""
    from adf_core.plugins import PluginError
    from adf_core.plugins.registry import Registry, default_registry

    obj = ctx.find_root().obj
    if isinstance(obj, Registry):
        return obj
    try:
        return default_registry()
    except PluginError as exc:
        raise click.ClickException(str(exc)) from None


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain left-aligned text table (the last column is not padded)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)] + [row[-1]]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def echo_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, indent=2, default=str))
