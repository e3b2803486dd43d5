"""The ``s3`` source: reads the records of one object, or of every object under a prefix.

Each object is read by :func:`adf_core.data.formats.read_batches`, as the ``file`` source
reads a file: Arrow batches when the run moves Arrow (csv, parquet), lists of dicts
otherwise. The readers that seek get a temporary copy of the object (``spool.py``); the
others read the body as it streams.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Generator, Iterable, Iterator
from typing import Any, Literal

from adf_core import component
from adf_core.data.formats import read_batches, reads_by_seeking
from adf_core.records import as_format, is_arrow
from adf_core.rejects import line_rejecter
from adf_plugin_s3 import checks
from adf_plugin_s3.client import check_bucket, make_client, s3_uri
from adf_plugin_s3.formats import PHRASES, CsvOptions, is_gzip, resolve_format
from adf_plugin_s3.spool import spooled
from adf_plugin_s3.staging import is_staging_key

RESUME_ATTEMPTS = 5  # consecutive broken reads of one object before giving up
_READ_BUFFER = 256 * 1024


@component(check=[checks.key_or_prefix, checks.bucket_name], probe=checks.probe_source,
           state_when="incremental")
def s3_source(
    bucket: str,
    key: str | None = None,
    prefix: str | None = None,
    format: Literal["jsonl", "ndjson", "csv", "json", "parquet"] | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    batch_size: int = 1000,
    delimiter: str = ",",
    infer_types: bool = True,
    key_field: str | None = None,
    incremental: bool = False,
    state: dict[str, Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Read records from S3 objects (jsonl, csv, json or parquet), streaming them in batches.

    Args:
        bucket: the bucket name.
        key: one object to read; give either key or prefix.
        prefix: read every object whose key starts with this (in key order), except the
            s3 destination's unpublished staging objects (`.adf-staging/`); an empty listing
            is an error, so that a mistyped prefix never reads as "no data".
        format: jsonl, csv, json or parquet; by default from each key's extension (a `.gz`
            suffix means gzip), else jsonl.
        endpoint_url: an S3-compatible endpoint (MinIO, a VPC endpoint, moto); default AWS.
        region: the AWS region; default from the standard AWS configuration chain.
        batch_size: records per batch yielded downstream.
        delimiter: csv field delimiter.
        infer_types: turn csv numbers into int/float and empty cells into null (as the
            `file` source does).
        key_field: if set, add a field of this name holding each record's object key.
        incremental: read only the objects not loaded by an earlier run of this pipeline (by
            key and ETag: a replaced object is read again); the pipeline needs a name.

    Credentials come from the standard AWS chain (environment, AWS_PROFILE and the shared
    files, SSO, instance and container roles), never from options. A record that cannot be
    parsed raises an error naming the object and the record number. With the `arrow` extra,
    csv and parquet objects are read into Arrow batches (a copy of each goes to a temporary
    file first: those readers seek), unless the run moves records or a bad-record policy is
    set.
    """
    if (key is None) == (prefix is None):
        raise ValueError("s3 source: give exactly one of `key` or `prefix`")
    if batch_size < 1:
        raise ValueError(f"s3 source: batch_size must be at least 1, not {batch_size}")
    if format is not None:
        resolve_format(format, None)  # an unknown format fails before any request
    csv_options = CsvOptions(delimiter=delimiter, infer_types=infer_types)
    client = make_client(endpoint_url, region)
    if prefix is not None:
        check_bucket(client, bucket)
    etags: dict[str, str] = {}
    keys = [key] if key is not None else list(_list_keys(client, bucket, prefix or "", etags))
    loaded: dict[str, str] | None = None
    if incremental and state is not None:
        if key is not None:
            etags[key] = _etag(client, bucket, key)
        before = state.get("objects") or {}
        # only objects still listed are remembered: the state does not outgrow the prefix
        loaded = {k: before[k] for k in keys if k in before}
        state["objects"] = loaded
        keys = [k for k in keys if loaded.get(k) != etags.get(k)]
    yield from _joined(_batches(client, bucket, keys, format, csv_options, batch_size,
                                key_field, loaded, etags), batch_size)


def _etag(client: Any, bucket: str, key: str) -> str:
    try:
        return str(client.head_object(Bucket=bucket, Key=key)["ETag"])
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            raise FileNotFoundError(f"s3 source: {s3_uri(bucket, key)} does not exist") from None
        raise


def _batches(client: Any, bucket: str, keys: list[str], fmt: str | None,
             csv_options: CsvOptions, batch_size: int, key_field: str | None,
             loaded: dict[str, str] | None = None, etags: dict[str, str] | None = None
             ) -> Iterator[Any]:
    for object_key in keys:
        batches = _read_object(client, bucket, object_key, fmt, csv_options, batch_size)
        with contextlib.closing(batches):  # a consumer that stops removes the spooled copy
            for batch in batches:
                yield _with_key(batch, key_field, object_key) if key_field else batch
        if loaded is not None and etags is not None and object_key in etags:
            loaded[object_key] = etags[object_key]  # saved only if the run succeeds


def _with_key(batch: Any, key_field: str, object_key: str) -> Any:
    if is_arrow(batch):
        return as_format(batch, None, key_field, object_key)
    for record in batch:
        record[key_field] = object_key
    return batch


def _joined(batches: Iterable[Any], size: int) -> Iterator[Any]:
    """Lists of records regrouped into lists of ``size`` across objects (a small object does
    not make a small batch); an Arrow batch passes as it is, after the records before it."""
    pending: list[dict[str, Any]] = []
    try:
        for batch in batches:
            if is_arrow(batch):
                if pending:
                    yield pending
                    pending = []
                yield batch
                continue
            pending.extend(batch)
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _list_keys(client: Any, bucket: str, prefix: str,
               etags: dict[str, str] | None = None) -> Iterator[str]:
    """The data objects under ``prefix``: folder markers and the ``s3`` destination's staging
    objects (``.adf-staging/``, not yet published) are skipped, unless asked for by name."""
    found = False
    skip_staging = not is_staging_key(prefix.rstrip("/") + "/x")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):  # a "folder" marker, not data
                continue
            if skip_staging and is_staging_key(item["Key"]):
                continue
            found = True
            if etags is not None:
                etags[item["Key"]] = item.get("ETag", "")
            yield item["Key"]
    if not found:
        raise FileNotFoundError(f"s3 source: no objects under {s3_uri(bucket, prefix)}")


def _read_object(client: Any, bucket: str, key: str, fmt: str | None,
                 csv_options: CsvOptions, batch_size: int) -> Generator[Any, None, None]:
    """The batches of one object: its body streams into the dict readers, or is first
    copied to a temporary file for the readers that seek (removed when this ends)."""
    uri = s3_uri(bucket, key)
    fmt = resolve_format(fmt, key)
    if fmt == "parquet" and is_gzip(key):
        raise ValueError(f"s3 source: {uri}: parquet compresses its own columns; a gzipped "
                         "parquet object cannot be read")
    options = {"compressed": is_gzip(key), "csv_options": csv_options, "phrases": PHRASES,
               "on_bad": line_rejecter(uri)}
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except client.exceptions.NoSuchKey:
        raise FileNotFoundError(f"s3 source: {uri} does not exist") from None
    except client.exceptions.NoSuchBucket:
        raise FileNotFoundError(f"s3 source: the bucket {bucket!r} does not exist") from None
    with contextlib.ExitStack() as stack:
        body: Any = stack.enter_context(
            io.BufferedReader(ResumableBody(client, bucket, key, response), _READ_BUFFER))
        if reads_by_seeking(fmt, **options):
            download = body
            body = stack.enter_context(spooled(download))
            download.close()  # read to the end: its connection goes back to the pool
        yield from read_batches(body, fmt, uri, batch_size, **options)


class ResumableBody(io.RawIOBase):
    """An object's body that picks up where it broke off when the connection drops.

    botocore retries a request until its response starts, not a body cut half-way: a long
    read of a large object would fail the whole run. This asks for the rest of the object
    (``Range``), of the same version (``If-Match`` on the ETag). It gives up after
    ``RESUME_ATTEMPTS`` failures in a row with no byte read in between.
    """

    def __init__(self, client: Any, bucket: str, key: str, response: dict[str, Any]) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._etag: str | None = response.get("ETag")
        self._body: Any = response["Body"]
        self._position = 0
        self.resumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import (
            ConnectionError as BotocoreConnectionError,
        )
        from botocore.exceptions import (
            HTTPClientError,
            IncompleteReadError,
            ResponseStreamingError,
        )

        failures = 0
        while True:
            try:
                if self._body is None:
                    self._reopen()
                data = self._body.read(len(buffer))
                break
            except (
                BotocoreConnectionError, HTTPClientError, IncompleteReadError,
                ResponseStreamingError,
            ) as exc:
                failures += 1
                if failures > RESUME_ATTEMPTS:
                    raise ConnectionError(
                        f"{s3_uri(self._bucket, self._key)}: the download broke off at byte "
                        f"{self._position} and could not resume ({failures} attempts): {exc}"
                    ) from exc
                self._discard_body()
                time.sleep(min(2.0, 0.05 * 2**failures))
        size = len(data)
        buffer[:size] = data
        self._position += size
        return size

    def _discard_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None

    def _reopen(self) -> None:
        """Ask for the rest of the same version of the object."""
        from botocore.exceptions import ClientError

        request = {"Bucket": self._bucket, "Key": self._key, "Range": f"bytes={self._position}-"}
        if self._etag:
            request["IfMatch"] = self._etag
        try:
            self._body = self._client.get_object(**request)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                raise RuntimeError(
                    f"{s3_uri(self._bucket, self._key)} was replaced while it was being read"
                ) from None
            raise
        self.resumed += 1

    def close(self) -> None:
        self._discard_body()
        super().close()
