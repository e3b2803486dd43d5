"""Record formats of S3 objects: jsonl (the default), csv and json, optionally gzip-compressed.

Readers stream from a binary file object (an S3 response body) and number the records they
yield, so that a bad record is reported as "record N of s3://bucket/key". Writers write records
to a binary file object (a temporary file that is uploaded once every record was written).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from adf_core.records import csv_value, dumps

Record = dict[str, Any]

FORMATS = ("jsonl", "csv", "json")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json"}
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "json": "application/json"}


class S3RecordError(ValueError):
    """A record could not be read or written; names the object and the record number."""

    def __init__(self, uri: str, record: int, reason: str) -> None:
        self.uri = uri
        self.record = record
        self.reason = reason
        super().__init__(f"{uri}: record {record}: {reason}")


def is_gzip(key: str) -> bool:
    return key.lower().endswith(".gz")


def resolve_format(fmt: str | None, key: str | None) -> str:
    """The explicit format, else the one the key's extension names (``.gz`` aside), else jsonl."""
    if fmt is not None:
        name = fmt.strip().lower()
        if name == "ndjson":
            name = "jsonl"
        if name not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return name
    if key:
        stem = key[:-3] if is_gzip(key) else key
        for extension, name in _EXTENSIONS.items():
            if stem.lower().endswith(extension):
                return name
    return "jsonl"


def extension(fmt: str) -> str:
    return f".{fmt}"


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvOptions:
    """How csv objects are read and written (the ``file`` component's conventions)."""

    delimiter: str = ","
    infer_types: bool = True


def read_records(
    raw: IO[bytes], fmt: str, uri: str, *, compressed: bool, csv_options: CsvOptions = CsvOptions()
) -> Iterator[Record]:
    """Yield the records of one object, streaming (json arrays excepted: they are parsed whole)."""
    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if compressed else raw
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        if fmt == "jsonl":
            yield from _read_jsonl(text, uri)
        elif fmt == "csv":
            yield from _read_csv(text, uri, csv_options)
        else:
            yield from _read_json(text, uri)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
        raise ValueError(f"{uri}: cannot decode the object as {fmt}: {exc}") from exc
    finally:
        text.detach()


def _read_jsonl(text: Iterable[str], uri: str) -> Iterator[Record]:
    number = 0
    for line_number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise S3RecordError(
                uri, number, f"invalid JSON on line {line_number}: {exc.msg} (column {exc.colno})"
            ) from None
        if not isinstance(record, dict):
            raise S3RecordError(
                uri, number, f"line {line_number} is a JSON {_kind(record)}, not an object"
            )
        yield record


def _read_csv(text: Iterable[str], uri: str, options: CsvOptions) -> Iterator[Record]:
    reader = csv.reader(text, delimiter=options.delimiter)
    header = next(reader, None)
    if header is None:
        return
    convert = csv_value if options.infer_types else str
    number = 0
    for row in reader:
        if not row:
            continue
        number += 1
        if len(row) != len(header):
            raise S3RecordError(
                uri, number,
                f"line {reader.line_num} has {len(row)} fields, the header has {len(header)}",
            )
        yield dict(zip(header, map(convert, row), strict=True))


def _read_json(text: IO[str], uri: str) -> Iterator[Record]:
    try:
        document = json.load(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{uri}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    records = document if isinstance(document, list) else [document]
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise S3RecordError(uri, number, f"is a JSON {_kind(record)}, not an object")
        yield record


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


# -- writing ------------------------------------------------------------------------------


class RecordWriter:
    """Writes records in one format to a binary file; ``close`` finishes the document.

    csv needs every column before the header is written, so csv records are first spooled as
    jsonl to ``scratch`` while the columns are collected (first-seen order), then converted.
    """

    def __init__(
        self,
        out: IO[bytes],
        fmt: str,
        uri: str,
        *,
        compressed: bool,
        scratch: IO[bytes],
        delimiter: str = ",",
    ) -> None:
        self.fmt = fmt
        self.uri = uri
        self.count = 0
        self._gzip = gzip.GzipFile(fileobj=out, mode="wb") if compressed else None
        self._out = cast(IO[bytes], self._gzip) if self._gzip is not None else out
        self._scratch = scratch
        self._columns: dict[str, None] = {}
        self._delimiter = delimiter
        if fmt == "json":
            self._out.write(b"[")

    def write(self, record: Any) -> None:
        self.count += 1
        if not isinstance(record, dict):
            raise S3RecordError(
                self.uri, self.count, f"is a {type(record).__name__}, not a record (dict)"
            )
        try:
            line = dumps(record)
        except (TypeError, ValueError) as exc:
            raise S3RecordError(self.uri, self.count, str(exc)) from None
        data = line.encode("utf-8")
        if self.fmt == "jsonl":
            self._out.write(data + b"\n")
        elif self.fmt == "json":
            self._out.write((b",\n" if self.count > 1 else b"\n") + data)
        else:
            self._columns.update(dict.fromkeys(record))
            self._scratch.write(data + b"\n")

    def close(self) -> None:
        if self.fmt == "json":
            self._out.write(b"\n]\n" if self.count else b"]\n")
        elif self.fmt == "csv":
            self._write_csv()
        if self._gzip is not None:
            self._gzip.close()

    def _write_csv(self) -> None:
        text = io.TextIOWrapper(self._out, encoding="utf-8", newline="")
        try:
            writer = csv.DictWriter(
                text, fieldnames=list(self._columns), delimiter=self._delimiter
            )
            if self._columns:
                writer.writeheader()
            self._scratch.seek(0)
            for line in self._scratch:
                writer.writerow({k: _csv_value(v) for k, v in json.loads(line).items()})
            text.flush()
        finally:
            text.detach()


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value
