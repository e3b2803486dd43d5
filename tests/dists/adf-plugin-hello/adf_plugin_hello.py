"""adf-plugin-hello: a source, a transform and a destination for async-data-flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adf_core import hookimpl
from adf_core.records import iter_input_batches


def greetings(names: list[str] | None = None, batch_size: int = 1000) -> Iterator[list[dict]]:
    """Greet people: one record per name, streamed in batches.

    Args:
        names: who to greet, e.g. -o hello.names=ada,grace
        batch_size: records per batch
    """
    people = names or ["world"]
    for first in range(0, len(people), batch_size):
        yield [{"name": n, "greeting": f"hello, {n}"} for n in people[first : first + batch_size]]


def shout(upstream: dict[str, Any]) -> list[dict]:
    """Upper-case the greeting of every record of the previous stage."""
    return [
        {**record, "greeting": record["greeting"].upper()}
        for _, batch in iter_input_batches(upstream)
        for record in batch
    ]


def write_lines(upstream: dict[str, Any], path: Path, field: str = "greeting") -> dict[str, int]:
    """Write one field of every record to a text file, a line each.

    Args:
        path: the file to write
        field: the field to write
    """
    lines = [str(r[field]) for _, batch in iter_input_batches(upstream) for r in batch]
    path.write_text("".join(f"{line}\n" for line in lines))
    return {"lines_written": len(lines)}


@hookimpl
def adf_sources() -> dict[str, Any]:
    return {"hello": greetings}


@hookimpl
def adf_transforms() -> dict[str, Any]:
    return {"shout": shout}


@hookimpl
def adf_destinations() -> dict[str, Any]:
    return {"hello": write_lines}
