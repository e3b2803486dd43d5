"""The `file` source (csv, jsonl, json, parquet; globs) and destination (atomic writes)."""

import contextlib
import csv
import glob
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from adf_core.commit import commit_group
from adf_core.hookspecs import hookimpl
from adf_core.records import csv_value, iter_batches, select_inputs
from adf_plugins._common import Written, dumps

Record = dict[str, Any]
FORMATS = ("csv", "jsonl", "json", "parquet")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_EXTENSIONS[".parquet"] = _EXTENSIONS[".pq"] = "parquet"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class RecordError(ValueError):
    """A record that cannot be read or written, naming its number and file."""


def _format_of(path: str, format: str | None) -> str:
    if format:
        fmt = format.lower().lstrip(".")
        if fmt == "ndjson":
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        return fmt
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {path!r} from its extension; set `format` "
            f"({', '.join(FORMATS)})"
        )
    return fmt


def _read_csv(
    path: str, batch_size: int, encoding: str, delimiter: str, infer_types: bool
) -> Iterator[list[Record]]:
    with open(path, newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        batch: list[Record] = []
        number = 0
        for row in reader:
            if not row:
                continue
            number += 1
            if len(row) != width:
                raise RecordError(
                    f"{path} record {number} (line {reader.line_num}): {len(row)} fields, "
                    f"the header has {width}"
                )
            if infer_types:
                batch.append(dict(zip(header, map(csv_value, row), strict=True)))
            else:
                batch.append(dict(zip(header, row, strict=True)))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def _read_jsonl(path: str, batch_size: int, encoding: str) -> Iterator[list[Record]]:
    loads = json.loads
    with open(path, encoding=encoding) as handle:
        batch: list[Record] = []
        number = 0
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            number += 1
            try:
                record = loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(
                    f"{path} record {number} (line {line_no}): malformed JSON: {exc.msg} "
                    f"at column {exc.colno}"
                ) from None
            if not isinstance(record, dict):
                raise RecordError(
                    f"{path} record {number} (line {line_no}): expected a JSON object, got "
                    f"{type(record).__name__}"
                )
            batch.append(record)
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def _read_json(path: str, batch_size: int, encoding: str) -> Iterator[list[Record]]:
    with open(path, encoding=encoding) as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise RecordError(
                f"{path}: malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise RecordError(
                f"{path} record {number}: expected a JSON object, got {type(record).__name__}"
            )
    for start in range(0, len(records), batch_size):
        yield records[start : start + batch_size]


def _read_parquet(path: str, batch_size: int) -> Iterator[list[Record]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading parquet needs pyarrow: pip install 'async-data-flow[parquet]'"
        ) from None
    parquet = pq.ParquetFile(path)
    for chunk in parquet.iter_batches(batch_size=batch_size):
        yield chunk.to_pylist()


def read_file(
    path: str,
    format: str | None = None,
    batch_size: int = 1000,
    encoding: str = "utf-8",
    delimiter: str = ",",
    infer_types: bool = True,
    filename_field: str | None = None,
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
    for each in paths:
        fmt = _format_of(each, format)
        if fmt == "csv":
            batches = _read_csv(each, batch_size, encoding, delimiter, infer_types)
        elif fmt == "jsonl":
            batches = _read_jsonl(each, batch_size, encoding)
        elif fmt == "json":
            batches = _read_json(each, batch_size, encoding)
        else:
            batches = _read_parquet(each, batch_size)
        for batch in batches:
            if filename_field:
                for record in batch:
                    record[filename_field] = each
            yield batch


class _Writer:
    """Writes batches of one format to an open temporary file."""

    def __init__(self, handle: IO[Any], fmt: str, path: str, delimiter: str) -> None:
        self.handle = handle
        self.fmt = fmt
        self.path = path
        self.delimiter = delimiter
        self.count = 0
        self.seen: dict[str, int] = {}  # records written per input: errors number within it
        self._base = 0
        self.csv: Any = None
        self.fields: list[str] = []
        self.parquet: Any = None
        self.schema: Any = None

    def write(self, batch: list[Record], where: str) -> None:
        self._base = self.seen.get(where, 0)
        if self.fmt == "jsonl":
            try:
                text = "\n".join(map(dumps, batch))
            except (TypeError, ValueError):
                self._find_bad(batch, where)
                raise
            self.handle.write(text)
            self.handle.write("\n")
        elif self.fmt == "json":
            try:
                text = ",\n".join(map(dumps, batch))
            except (TypeError, ValueError):
                self._find_bad(batch, where)
                raise
            self.handle.write(",\n" if self.count else "[\n")
            self.handle.write(text)
        elif self.fmt == "csv":
            self._write_csv(batch, where)
        else:
            self._write_parquet(batch, where)
        self.count += len(batch)
        self.seen[where] = self._base + len(batch)

    def _find_bad(self, batch: list[Record], where: str) -> None:
        for offset, record in enumerate(batch, start=1):
            try:
                dumps(record)
            except (TypeError, ValueError) as exc:
                raise RecordError(
                    f"{self.path}: record {self._base + offset} ({where}) cannot be written "
                    f"as JSON: {exc}"
                ) from None

    def _write_csv(self, batch: list[Record], where: str) -> None:
        if self.csv is None:
            self.fields = list(batch[0])
            self.csv = csv.writer(self.handle, delimiter=self.delimiter, lineterminator="\n")
            self.csv.writerow(self.fields)
        fields = self.fields
        known = set(fields)
        rows = []
        for offset, record in enumerate(batch, start=1):
            if record.keys() - known:
                extra = ", ".join(sorted(map(str, record.keys() - known)))
                raise RecordError(
                    f"{self.path}: record {self._base + offset} ({where}) has fields the CSV "
                    f"header (from the first record) lacks: {extra}"
                )
            rows.append([_csv_cell(record.get(f)) for f in fields])
        self.csv.writerows(rows)

    def _write_parquet(self, batch: list[Record], where: str) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "writing parquet needs pyarrow: pip install 'async-data-flow[parquet]'"
            ) from None
        try:
            table = pa.Table.from_pylist(batch, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as exc:
            raise RecordError(
                f"{self.path}: records {self._base + 1}-{self._base + len(batch)} ({where}) do "
                f"not fit the parquet schema of the first batch: {exc}"
            ) from None
        if self.parquet is None:
            self.schema = table.schema
            self.parquet = pq.ParquetWriter(self.handle, self.schema)
        self.parquet.write_table(table)

    def finish(self) -> None:
        if self.fmt == "json":
            self.handle.write("\n]\n" if self.count else "[]\n")
        elif self.fmt == "parquet" and self.parquet is not None:
            self.parquet.close()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value)
    return value


def write_file(
    path: str,
    format: str | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    fsync: bool = True,
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
    """
    with commit_group(f"the file {path!r}") as ready:
        fmt = _format_of(path, format)
        target = Path(path)
        directory = target.parent
        created = [p for p in (directory, *directory.parents) if not p.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        committed = False
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        except BaseException:
            _remove_dirs(created)
            raise
        try:
            binary = fmt == "parquet"
            with open(
                fd,
                "wb" if binary else "w",
                encoding=None if binary else encoding,
                newline=None if binary else "",
            ) as handle:
                writer = _Writer(handle, fmt, path, delimiter)
                for name, data in select_inputs(upstream, context, input):
                    for batch in iter_batches(data):
                        writer.write(batch, f"input {name!r}")
                writer.finish()
                handle.flush()
                if fsync:
                    os.fsync(handle.fileno())
            ready()
            mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_UMASK
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
            committed = True
        finally:
            if not committed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
                _remove_dirs(created)
    return Written(str(target), writer.count)


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
