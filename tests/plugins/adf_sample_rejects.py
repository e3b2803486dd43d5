"""Sample components that report bad records and warnings, as connectors do (``adf run``
reaches them as ``adf_sample_rejects:NAME``, with this folder on ``sys.path``)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from adf_core import warn
from adf_core.commit import commit_group
from adf_core.records import iter_batches, select_inputs
from adf_core.rejects import reject


def _parse(text: str) -> dict[str, Any]:
    record = json.loads(text)
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object")
    return record


def read_lines(path: Path, batch_size: int = 100) -> Iterator[list[dict[str, Any]]]:
    """Read JSON lines (a sync generator); a line that is not a JSON object is a bad record."""
    batch: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.rstrip("\n")
            if not text:
                continue
            try:
                record = _parse(text)
            except ValueError as exc:
                reject(text, f"{path.name} line {line_no}: {exc}",
                       position={"file": str(path), "line": line_no}, input=str(path))
                continue
            batch.append(record)
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


async def read_lines_async(path: Path) -> AsyncIterator[list[dict[str, Any]]]:
    """The same on the event loop (an async generator)."""
    for line_no, text in enumerate(path.read_text().splitlines(), start=1):
        try:
            record = _parse(text)
        except ValueError as exc:
            reject(text, exc, position={"file": str(path), "line": line_no}, input=str(path))
            continue
        yield [record]


def read_all(path: Path) -> list[dict[str, Any]]:
    """The same in one call (a plain function in a worker thread)."""
    records = []
    for line_no, text in enumerate(path.read_text().splitlines(), start=1):
        try:
            records.append(_parse(text))
        except ValueError as exc:
            reject(text, exc, position={"file": str(path), "line": line_no}, input=str(path))
    return records


def write_valid(
    path: Path,
    required: str = "id",
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
) -> int:
    """Write the records that have a `required` field as JSON lines, atomically, committing
    with its stage; a record without it is a bad record (numbered within its input)."""
    count = 0
    with commit_group(f"the file {str(path)!r}") as ready:
        tmp = path.with_name(f".{path.name}.writing")
        try:
            with open(tmp, "w", encoding="utf-8") as out:
                for name, data in select_inputs(upstream, context, input):
                    number = 0
                    for batch in iter_batches(data):
                        for record in batch:
                            number += 1
                            if record.get(required) is None:
                                reject(record, f"no {required!r} field", position=number,
                                       input=name)
                                continue
                            out.write(json.dumps(record) + "\n")
                            count += 1
            ready()
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return count


def count_them(upstream: Mapping[str, Any]) -> int:
    """Count the records of the previous stage: a number, not a dataset."""
    return sum(len(batch) for data in upstream.values() for batch in iter_batches(data))


def pass_and_warn(upstream: Mapping[str, Any], field: str = "amount") -> list[dict[str, Any]]:
    """Pass records on; warn when no record has `field` (what `filter` will do)."""
    records = [r for data in upstream.values() for batch in iter_batches(data) for r in batch]
    if records and not any(field in r for r in records):
        warn(f"no record has the field {field!r}", field=field)
    return records
