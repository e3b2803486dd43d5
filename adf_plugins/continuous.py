"""The `file` and `db` destinations in a continuous run (DESIGN 15): micro-batch commits.

A continuous run (a broker source that acknowledges after commit) never ends on its own, so
a destination cannot wait for the end of its input to commit. Here it commits every
`commit_every` records or `commit_interval` seconds, whichever comes first, and tells the
engine (``adf_core.acks.committed``) so that the sources acknowledge what it covers:

- `file` writes a new part file per commit, ``NAME-000001.jsonl``, ``NAME-000002.jsonl``...
  next to `path`, numbered on from the parts already there (a restart continues the
  sequence); each part is written to a temporary file and renamed into place.
- `db` runs one transaction per commit (the table is created in the first one).

A kill between two commits loses nothing: what was not committed was not acknowledged, and
the broker delivers it again (at-least-once: a record may then be written twice).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adf_core import current_run
from adf_core.acks import committed, micro_batches_of
from adf_core.data.formats import CsvOptions, RecordWriter
from adf_core.data.tempfiles import publish, sweep, temporary_file
from adf_core.records import iter_batches
from adf_plugins._common import Written, abort_if_run_failed, safe_url


def _micro(inputs: list[tuple[str, Any]], commit_every: int, commit_interval: float
           ) -> Iterator[list[tuple[str, list[dict[str, Any]]]]]:
    """The micro-batches of every input, read side by side: ``(input name, records)``."""
    listed = [(name, [data] if isinstance(data, dict) else data) for name, data in inputs]
    for batch in micro_batches_of(listed, commit_every, commit_interval):
        yield [(name, records) for name, item in batch for records in iter_batches(item)]


def part_paths(target: Path) -> tuple[str, str, int]:
    """``(stem, suffix, next number)`` of the part files of ``target``."""
    name = target.name
    stem, dot, suffix = name.partition(".")
    suffix = dot + suffix
    pattern = re.compile(rf"{re.escape(stem)}-(\d+){re.escape(suffix)}$")
    last = 0
    if target.parent.is_dir():
        for entry in os.listdir(target.parent):
            found = pattern.match(entry)
            if found:
                last = max(last, int(found.group(1)))
    return stem, suffix, last + 1


def write_file_parts(path: str, fmt: str, inputs: list[tuple[str, Any]], *, encoding: str,
                     delimiter: str, fsync: bool, commit_every: int, commit_interval: float
                     ) -> Written:
    """Write each micro-batch of ``inputs`` to a new part file beside ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem, suffix, number = part_paths(target)
    run = current_run()
    run_id = run.run_id if run else None
    count = 0
    for batch in _micro(inputs, commit_every, commit_interval):
        part = target.with_name(f"{stem}-{number:06d}{suffix}")
        sweep(part)
        with temporary_file(part, run_id) as (tmp_name, handle):
            writer = RecordWriter(handle, fmt, str(part), encoding=encoding,
                                  csv_options=CsvOptions(delimiter))
            for name, records in batch:
                writer.write(records, f"input {name!r}")
            writer.close()
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
            abort_if_run_failed(f"the file {str(part)!r}")
            publish(tmp_name, part)
        count += writer.count
        number += 1
        committed()
    return Written(str(target.with_name(f"{stem}-*{suffix}")), count)


def write_db_commits(url: str, table: str, mode: str, key: list[str],
                     inputs: list[tuple[str, Any]], *, batch_size: int, commit_every: int,
                     commit_interval: float) -> Written:
    """Write each micro-batch of ``inputs`` to ``table`` in a transaction of its own."""
    import sqlalchemy as sa

    from adf_plugins import db

    schema, name = db._split_name(table)
    where = db._where(schema, name)
    engine = db._engine(url, write=True)
    target: Any = None
    first = True
    count = 0
    seen: dict[str, int] = {}
    try:
        for batch in _micro(inputs, commit_every, commit_interval):
            with engine.begin() as conn:
                if target is None and sa.inspect(conn).has_table(name, schema=schema):
                    target = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
                if first and mode == "replace" and target is not None:
                    conn.execute(target.delete())
                first = False
                for input_name, records in batch:
                    label = f"input {input_name!r}"
                    for chunk in iter_batches(records, batch_size=max(int(batch_size), 1)):
                        if target is None:
                            target = db._create_table(conn, schema, name, chunk, key)
                        done = seen.get(input_name, 0)
                        numbers = list(range(done + 1, done + len(chunk) + 1))
                        rows = chunk
                        if mode == "upsert":
                            rows, numbers = db._delete_keys(conn, target, chunk, key, numbers)
                        db._insert(conn, target, rows, numbers, where, label)
                        seen[input_name] = done + len(chunk)
                        count += len(chunk)
                abort_if_run_failed(f"the table {where!r}")
            committed()
    finally:
        engine.dispose()
    return Written(f"{safe_url(url)} {where}", count)
