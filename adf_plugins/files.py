"""The `file` source (csv, jsonl, json, parquet; globs) and destination (atomic writes)."""

import contextlib
import errno
import glob
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from adf_core import component, current_run
from adf_core.commit import commit_group
from adf_core.data.arrow import moved_format
from adf_core.data.formats import (
    FORMATS,
    CsvOptions,
    RecordError,
    RecordWriter,
    format_name,
    format_of,
    is_gzip,
    one_column_hint,
    read_batches,
)
from adf_core.data.tempfiles import publish, sweep, temporary_file
from adf_core.hookspecs import hookimpl
from adf_core.records import as_format, is_arrow, iter_batches, select_inputs
from adf_core.rejects import line_rejecter, record_rejecter, warn
from adf_plugins import checks
from adf_plugins._common import Written

__all__ = ["RecordError", "read_file", "write_file"]

Record = dict[str, Any]


def _format_of(path: str, format: str | None) -> str:
    if format:
        return format_name(format)
    fmt = format_of(path)
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {path!r} from its extension; set `format` "
            f"({', '.join(FORMATS)})"
        )
    return fmt


@component(check=checks.input_paths, state_when="incremental")
def read_file(
    path: str,
    format: Literal["csv", "jsonl", "ndjson", "json", "parquet"] | None = None,
    batch_size: int = 1000,
    encoding: str = "utf-8",
    delimiter: str = ",",
    infer_types: bool = True,
    filename_field: str | None = None,
    incremental: bool = False,
    state: dict[str, Any] | None = None,
) -> Iterator[list[Record]]:
    """Read records from csv, jsonl, json or parquet files; `path` may be a glob.

    Files matching a glob are read in sorted order, streaming in batches. A CSV file's first
    line is its header; with `infer_types` (the default), integers and decimals become numbers
    and empty cells become null. A json file holds one array of objects (or one object).
    A malformed JSON line or a CSV row with the wrong number of fields is an error naming the
    file, the record number and the line.

    Args:
        path: file path or glob (`data/*.csv`, `logs/**/*.jsonl`).
        format: csv, jsonl, json or parquet (default: from the extension).
        batch_size: records per batch.
        encoding: text encoding of csv/jsonl/json files.
        delimiter: csv field delimiter.
        infer_types: turn csv numbers into int/float and empty cells into null.
        filename_field: if set, add a field of this name holding each record's file path.
        incremental: read only the files not loaded by an earlier run of this pipeline (a
            file counts as new when its path, size or modification time changed).
    """
    if glob.has_magic(path):
        paths = sorted(glob.glob(path, recursive=True))
        if not paths:
            raise FileNotFoundError(f"no file matches {path!r}")
    else:
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such file: {path!r}")
        paths = [path]
    batch_size = max(int(batch_size), 1)
    options = {"encoding": encoding, "csv_options": CsvOptions(delimiter, infer_types)}
    loaded: dict[str, list[int]] = {}
    if incremental and state is not None:
        before = state.get("files") or {}
        # only files that still match are remembered: the state does not outgrow the glob
        loaded = {p: before[p] for p in paths if p in before}
        state["files"] = loaded
    for each in paths:
        signature = _signature(each) if incremental else None
        if signature is not None and loaded.get(each) == signature:
            continue
        fmt = _format_of(each, format)
        with open(each, "rb") as handle:
            yield from _batches(handle, fmt, each, batch_size, filename_field,
                                {**options, "compressed": is_gzip(each),
                                 "on_bad": line_rejecter(each)})
        if signature is not None:
            loaded[each] = signature


def _signature(path: str) -> list[int]:
    """What tells a file loaded before from a new or changed one: size and mtime (ns)."""
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def _batches(handle: IO[bytes], fmt: str, path: str, batch_size: int,
             filename_field: str | None, options: dict[str, Any]) -> Iterator[list[Record]]:
    first = fmt == "csv"
    for batch in read_batches(handle, fmt, path, batch_size, **options):
        if first and len(batch):
            header = batch.schema.names if is_arrow(batch) else batch[0]
            _hint_delimiter(path, header, options["csv_options"].delimiter)
            first = False
        if filename_field:
            if is_arrow(batch):
                batch = as_format(batch, None, filename_field, path)
            else:
                for record in batch:
                    record[filename_field] = path
        yield batch


def _hint_delimiter(path: str, header: Iterable[str], delimiter: str) -> None:
    hint = one_column_hint(header, delimiter)
    if hint is not None:
        warn(f"{path}: {hint}", file=path)


@component(check=checks.output_format)
def write_file(
    path: str,
    format: Literal["csv", "jsonl", "ndjson", "json", "parquet"] | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    fsync: bool = True,
    commit_every: int = 1000,
    commit_interval: float = 1.0,
) -> Written:
    """Write records to a csv, jsonl, json or parquet file, atomically.

    The records go to a temporary file in the target directory, which is renamed over `path`
    only after the whole input was written (and synced): a run that fails, or is cancelled,
    leaves the previous file untouched and no partial file behind. A CSV header comes from
    the first record; a later record with other fields is an error naming it. JSON has no
    type for decimals, dates and bytes: they become numbers, ISO 8601 strings and base64.
    Reading compare's whole output writes each record with a `_change` field.

    Args:
        path: the file to write (missing directories are created).
        format: csv, jsonl, json or parquet (default: from the extension).
        input: context keys to write instead of every member of the previous stage.
        encoding: text encoding.
        delimiter: csv field delimiter.
        fsync: sync the file to disk before the rename.
        commit_every: in a continuous run (a broker source), records per part file
            (`NAME-000001.jsonl`, ...: one per commit, see adf_plugins.continuous).
        commit_interval: in a continuous run, seconds before a part file is committed anyway.
    """
    from adf_core.acks import continuous

    if continuous():
        from adf_plugins.continuous import write_file_parts

        return write_file_parts(path, _format_of(path, format),
                                select_inputs(upstream, context, input), encoding=encoding,
                                delimiter=delimiter, fsync=fsync, commit_every=commit_every,
                                commit_interval=commit_interval)
    with commit_group(f"the file {path!r}") as ready:
        fmt = _format_of(path, format)
        target = Path(path)
        directory = target.parent
        created = [p for p in (directory, *directory.parents) if not p.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        committed = False
        run = current_run()
        sweep(target)  # temporary files of runs that died (SIGKILL) before they could clean up
        try:
            with contextlib.ExitStack() as stack:
                try:
                    # .NAME.adf-RUNID.tmp, locked while it exists; removed unless renamed
                    tmp_name, handle = stack.enter_context(
                        temporary_file(target, run.run_id if run else None))
                except OSError as exc:
                    raise _cannot_write(target, exc) from None
                writer = RecordWriter(handle, fmt, path, encoding=encoding,
                                      csv_options=CsvOptions(delimiter),
                                      on_unwritable=record_rejecter())
                for name, data in select_inputs(upstream, context, input):
                    for batch in iter_batches(data, format=moved_format()):
                        writer.write(batch, f"input {name!r}")
                writer.close()
                handle.flush()
                if fsync:
                    os.fsync(handle.fileno())
                ready()
                try:
                    publish(tmp_name, target)
                except OSError as exc:
                    raise _cannot_write(target, exc) from None
                committed = True
        finally:
            if not committed:
                _remove_dirs(created)
    return Written(str(target), writer.count)


def _cannot_write(target: Path, exc: OSError) -> OSError:
    """The error of a failed write, naming the file the user asked for, not our hidden
    temporary file beside it (same class and errno, so callers can still tell why)."""
    reason = exc.strerror or str(exc)
    if target.is_dir():
        reason = "it is a directory; give a file name"
    elif isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = f"{reason}: the directory {str(target.parent)!r} is not writable"
    return type(exc)(exc.errno, f"cannot write {str(target)!r}: {reason}")


def _remove_dirs(created: list[Path]) -> None:
    """Remove the (empty) directories a failed write created, deepest first."""
    for directory in created:
        with contextlib.suppress(OSError):
            directory.rmdir()


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    return {"file": read_file}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    return {"file": write_file}


# Built-ins run in this process whatever the flow's executor (DESIGN 11): they stream, join a
# commit group or move records that would cost more to pickle than to process.
for _builtin in (read_file, write_file):
    component(in_process=True)(_builtin)
