"""The ``s3`` destination: writes records to objects that appear only once complete.

Every record is first written to a local temporary file (in memory up to a few megabytes,
then on disk); the upload starts only when the last record was written, the input ended
normally, the other destinations of the run are ready to commit too, and no component of the
run has failed. A run that fails part-way therefore leaves no object behind, and no partial
one: S3 makes an object visible only when its upload completes, and boto3 aborts a multipart
upload that fails.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from adf_core import component
from adf_core.data.formats import CsvOptions, RecordWriter
from adf_plugin_s3 import checks
from adf_plugin_s3.client import check_bucket, make_client, s3_uri
from adf_plugin_s3.formats import (
    CONTENT_TYPES,
    PHRASES,
    extension,
    is_gzip,
    resolve_format,
)

_SPOOL_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class S3Written:
    """What an ``s3`` destination wrote: ``objects`` maps each ``s3://`` URI to its record count."""

    objects: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(self.objects.values())


@component(check=[checks.key_or_prefix, checks.object_key, checks.bucket_name],
           probe=checks.probe_destination)
def s3_destination(
    bucket: str,
    key: str | None = None,
    prefix: str | None = None,
    format: Literal["jsonl", "ndjson", "csv", "json"] | None = None,
    compression: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    delimiter: str = ",",
    input: list[str] | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> S3Written:
    """Write records to S3 objects (jsonl, csv or json); an object appears only once complete.

    Args:
        bucket: the bucket name.
        key: the one object that receives every input, concatenated in order; give either
            key or prefix.
        prefix: write one object per input, named `{prefix}{input name}.{format}`.
        format: jsonl, csv or json; by default from the key's extension, else jsonl.
        compression: gzip or none; by default gzip when the key ends in `.gz`.
        endpoint_url: an S3-compatible endpoint (MinIO, a VPC endpoint, moto); default AWS.
        region: the AWS region; default from the standard AWS configuration chain.
        delimiter: csv field delimiter.
        input: context keys to write; default every member of the previous stage.

    Records are written to a temporary file and uploaded only after the last one, so a run
    that fails (a bad record, a failed sibling) leaves no partial object. Credentials come
    from the standard AWS chain, never from options.
    """
    from adf_core.records import iter_batches, select_inputs

    if (key is None) == (prefix is None):
        raise ValueError("s3 destination: give exactly one of `key` or `prefix`")
    if key is not None and not key.strip("/"):
        raise ValueError(f"s3 destination: {key!r} is not an object key")
    gzip = _resolve_compression(compression, key)
    inputs = select_inputs(upstream, context, input)
    if key is not None:
        plan = [(key, inputs)]
    else:
        fmt = resolve_format(format, None)
        suffix = extension(fmt) + (".gz" if gzip else "")
        plan = [(f"{prefix}{name}{suffix}", [(name, data)]) for name, data in inputs]

    # Before reading any input: a missing bucket or a dead endpoint fails now, not after the
    # whole input was spooled and sibling destinations got ready to commit.
    client = make_client(endpoint_url, region)
    check_bucket(client, bucket)
    what = ", ".join(s3_uri(bucket, object_key) for object_key, _ in plan) or "no object"
    with _Spools() as spools, _commit_group(what) as ready:
        written: list[tuple[str, str, IO[bytes], int]] = []
        for object_key, datasets in plan:
            fmt = resolve_format(format, object_key)
            out = spools.new()
            writer = RecordWriter(
                out, fmt, s3_uri(bucket, object_key), compressed=gzip,
                csv_options=CsvOptions(delimiter), csv_header="union", scratch=spools.new(),
                phrases=PHRASES,
            )
            for name, data in datasets:
                for batch in iter_batches(data):
                    _raise_if_run_failed(what)  # stop early rather than spool what is never sent
                    writer.write(batch, f"input {name!r}")
            writer.close()
            written.append((object_key, fmt, out, writer.count))
        ready()
        return _upload_all(client, bucket, written)


def _resolve_compression(compression: str | None, key: str | None) -> bool:
    if compression is None:
        return bool(key) and is_gzip(key or "")
    name = compression.strip().lower()
    if name in ("gzip", "gz"):
        return True
    if name in ("", "none"):
        return False
    raise ValueError(f"unknown compression {compression!r}: expected gzip or none")


def _raise_if_run_failed(what: str) -> None:
    """Raise ``RunAborted`` once another component of this run failed (the engine then
    reports that component's error, and this one as its consequence)."""
    from adf_core import current_run

    run = current_run()
    if run is not None:
        run.raise_if_failed(what)


@contextlib.contextmanager
def _commit_group(what: str) -> Iterator[Callable[[], None]]:
    """Join the run's commit group (``adf_core.commit``): the destinations of one stage
    commit only once all of them can, so a sibling that fails on its last record stops the
    upload."""
    from adf_core.commit import commit_group

    with commit_group(what) as ready:
        yield ready


def _upload_all(
    client: Any, bucket: str, written: Iterable[tuple[str, str, IO[bytes], int]]
) -> S3Written:
    """Upload the spooled objects so that a failure leaves every target as it was.

    One object is uploaded directly: S3 shows it only once complete. Several are first
    uploaded under staging keys; only when all of them are there are they copied (server
    side) to their targets, so a failed upload touches no target. The staging objects are
    removed either way.
    """
    objects = list(written)
    if len(objects) == 1:
        object_key, fmt, out, count = objects[0]
        out.seek(0)
        client.upload_fileobj(out, bucket, object_key,
                              ExtraArgs={"ContentType": CONTENT_TYPES[fmt]})
        return S3Written({s3_uri(bucket, object_key): count})
    token = uuid.uuid4().hex[:12]
    staged: dict[str, str] = {}
    try:
        for object_key, fmt, out, _ in objects:
            out.seek(0)
            staging = f"{object_key}.adf-staging-{token}"
            client.upload_fileobj(out, bucket, staging,
                                  ExtraArgs={"ContentType": CONTENT_TYPES[fmt]})
            staged[object_key] = staging
        for object_key, fmt, _, _ in objects:
            client.copy({"Bucket": bucket, "Key": staged[object_key]}, bucket, object_key,
                        ExtraArgs={"ContentType": CONTENT_TYPES[fmt],
                                   "MetadataDirective": "REPLACE"})
    finally:
        for staging in staged.values():
            # Best effort: the original error, if any, is the one to report.
            with contextlib.suppress(Exception):
                client.delete_object(Bucket=bucket, Key=staging)
    return S3Written({s3_uri(bucket, k): n for k, _, _, n in objects})


class _Spools:
    """Temporary files (memory first, disk past a few MiB) closed, hence deleted, together."""

    def __init__(self) -> None:
        self._files: list[IO[bytes]] = []

    def new(self) -> IO[bytes]:
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        self._files.append(spool)
        return spool

    def __enter__(self) -> _Spools:
        return self

    def __exit__(self, *exc: object) -> None:
        for spool in self._files:
            spool.close()
