"""Record formats of S3 objects: jsonl (the default), csv, json (optionally gzip-compressed)
and parquet.

The readers and writers are :mod:`adf_core.data.formats`, shared with the ``file`` component;
this module only says how S3 names things (a format from the key, a content type) and words
errors the S3 way: ``s3://bucket/key: record N: ...``.
"""

from __future__ import annotations

import json
from typing import Any

from adf_core.data.formats import CONTENT_TYPES as _CONTENT_TYPES
from adf_core.data.formats import (
    CsvOptions,
    Phrases,
    RecordError,
    format_name,
    format_of,
    is_gzip,
    json_kind,
)

__all__ = ["CONTENT_TYPES", "FORMATS", "PHRASES", "CsvOptions", "S3RecordError", "extension",
           "is_gzip", "resolve_format"]

FORMATS = ("jsonl", "csv", "json", "parquet")
CONTENT_TYPES = {fmt: _CONTENT_TYPES[fmt] for fmt in FORMATS}


class S3RecordError(RecordError):
    """A record could not be read or written; names the object and the record number."""

    def __init__(self, uri: str, record: int, reason: str) -> None:
        self.uri = uri
        self.record = record
        self.reason = reason
        super().__init__(f"{uri}: record {record}: {reason}")


class _S3Phrases(Phrases):
    """Errors as ``s3://bucket/key: record N: what``."""

    def bad_json(self, source: str, record: int, line: int, exc: json.JSONDecodeError
                 ) -> Exception:
        return S3RecordError(source, record,
                             f"invalid JSON on line {line}: {exc.msg} (column {exc.colno})")

    def not_object(self, source: str, record: int, line: int | None, value: Any) -> Exception:
        where = f"line {line} is" if line is not None else "is"
        return S3RecordError(source, record, f"{where} a JSON {json_kind(value)}, not an object")

    def bad_document(self, source: str, exc: json.JSONDecodeError) -> Exception:
        return ValueError(f"{source}: invalid JSON: {exc.msg} (line {exc.lineno}, "
                          f"column {exc.colno})")

    def field_count(self, source: str, record: int, line: int, fields: int, header: int
                    ) -> Exception:
        return S3RecordError(source, record,
                             f"line {line} has {fields} fields, the header has {header}")

    def undecodable(self, source: str, fmt: str, line: int | None, encoding: str,
                    exc: Exception) -> Exception:
        where = f" (line {line})" if line is not None else ""
        return ValueError(f"{source}: cannot decode the object as {fmt}{where}: {exc}")

    def unwritable(self, target: str, number: int, where: str, total: int, problem: str
                   ) -> Exception:
        return S3RecordError(target, total, problem)


PHRASES = _S3Phrases()


def resolve_format(fmt: str | None, key: str | None) -> str:
    """The explicit format, else the one the key's extension names (``.gz`` aside), else jsonl."""
    if fmt is not None:
        return format_name(fmt, FORMATS)
    found = format_of(key) if key else None
    return found if found in FORMATS else "jsonl"


def extension(fmt: str) -> str:
    return f".{fmt}"
