"""The ``s3`` destination: writes records to objects that appear only once complete.

Every record is first written to a local temporary file (in memory up to a few megabytes,
then on disk); the upload starts only when the last record was written, the input ended
normally, the other destinations of the run are ready to commit too, and no component of the
run has failed. A run that fails part-way therefore leaves no object behind, and no partial
one. Objects are staged outside the target prefix (``staging.py``) and published by a
server-side copy; multipart uploads are explicit, checked between parts and aborted when the
run fails or is cancelled (``upload.py``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from adf_core import component
from adf_core.data.formats import CsvOptions, RecordWriter
from adf_core.rejects import record_rejecter
from adf_plugin_s3 import checks
from adf_plugin_s3.client import check_bucket, make_client, s3_uri
from adf_plugin_s3.formats import (
    CONTENT_TYPES,
    PHRASES,
    extension,
    is_gzip,
    resolve_format,
)
from adf_plugin_s3.staging import STAGING_PREFIX, Owner, remove_dead_staging
from adf_plugin_s3.upload import PART_SIZE, copy, upload

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
    format: Literal["jsonl", "ndjson", "csv", "json", "parquet"] | None = None,
    compression: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    delimiter: str = ",",
    input: list[str] | None = None,
    staging_prefix: str = STAGING_PREFIX,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> S3Written:
    """Write records to S3 objects (jsonl, csv, json or parquet), each shown once complete.

    Args:
        bucket: the bucket name.
        key: the one object that receives every input, concatenated in order; give either
            key or prefix.
        prefix: write one object per input, named `{prefix}{input name}.{format}`.
        format: jsonl, csv, json or parquet; by default from the key's extension, else jsonl.
        compression: gzip or none; by default gzip when the key ends in `.gz`.
        endpoint_url: an S3-compatible endpoint (MinIO, a VPC endpoint, moto); default AWS.
        region: the AWS region; default from the standard AWS configuration chain.
        delimiter: csv field delimiter.
        input: context keys to write; default every member of the previous stage.
        staging_prefix: where objects wait before they are published, outside the target
            prefix; its last folder must be `.adf-staging/` (e.g. `curated/.adf-staging/`
            where a bucket policy allows writes only under `curated/`).

    Records are written to a temporary file and uploaded only after the last one, so a run
    that fails (a bad record, a failed sibling, a signal) leaves no partial object and no
    unfinished upload. Staging objects left by a process that died (SIGKILL) are removed by
    the next run. Credentials come from the standard AWS chain, never from options.
    """
    from adf_core.data.arrow import moved_format
    from adf_core.records import iter_batches, select_inputs

    if (key is None) == (prefix is None):
        raise ValueError("s3 destination: give exactly one of `key` or `prefix`")
    if key is not None and not key.strip("/"):
        raise ValueError(f"s3 destination: {key!r} is not an object key")
    _check_staging_prefix(staging_prefix, key, prefix)
    gzip = _resolve_compression(compression, key)
    if gzip and resolve_format(format, key) == "parquet":
        raise ValueError("s3 destination: parquet compresses its own columns; write it without "
                         "gzip (no `.gz` suffix, or compression=none)")
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
    remove_dead_staging(client, bucket, staging_prefix)
    what = ", ".join(s3_uri(bucket, object_key) for object_key, _ in plan) or "no object"
    with _Spools() as spools, _commit_group(what) as ready:
        written: list[tuple[str, str, IO[bytes], int]] = []
        for object_key, datasets in plan:
            fmt = resolve_format(format, object_key)
            out = spools.new()
            writer = RecordWriter(
                out, fmt, s3_uri(bucket, object_key), compressed=gzip,
                csv_options=CsvOptions(delimiter), csv_header="union", scratch=spools.new(),
                phrases=PHRASES, on_unwritable=record_rejecter(),
            )
            for name, data in datasets:
                # Arrow batches are encoded column by column when the run moves Arrow
                for batch in iter_batches(data, format=moved_format()):
                    _raise_if_run_failed(what)  # stop early rather than spool what is never sent
                    writer.write(batch, f"input {name!r}")
            writer.close()
            written.append((object_key, fmt, out, writer.count))
        ready()
        return _upload_all(client, bucket, written, staging_prefix,
                           lambda: _raise_if_run_failed(what))


def _check_staging_prefix(staging_prefix: str, key: str | None, prefix: str | None) -> None:
    if not f"/{staging_prefix}".endswith(f"/{STAGING_PREFIX}"):
        raise ValueError(f"s3 destination: staging_prefix {staging_prefix!r} must end with the "
                         f"folder {STAGING_PREFIX!r} (which readers skip), e.g. "
                         f"'curated/{STAGING_PREFIX}'")
    target = key if key is not None else prefix or ""
    if target.startswith(staging_prefix):
        raise ValueError(f"s3 destination: {target!r} is inside the staging prefix "
                         f"{staging_prefix!r}; write elsewhere")


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


def _upload_all(client: Any, bucket: str, written: Iterable[tuple[str, str, IO[bytes], int]],
                staging_prefix: str, check: Callable[[], None]) -> S3Written:
    """Upload the spooled objects so that every target ends old or completely new.

    One small object is put directly: S3 shows it only once complete. Anything else is first
    uploaded under this run's staging folder (``staging.py``: outside the target prefix, so
    no reader sees it); only when every object is staged are they copied, server side, to
    their targets. ``check`` runs before every request up to then, so a cancelled run
    aborts its multipart uploads. The staging objects are removed either way.
    """
    from adf_core import current_run

    objects = list(written)
    sizes = [_size(out) for _, _, out, _ in objects]
    result = S3Written({s3_uri(bucket, k): n for k, _, _, n in objects})
    if len(objects) == 1 and sizes[0] <= PART_SIZE:
        object_key, fmt, out, _ = objects[0]
        upload(client, bucket, object_key, out, CONTENT_TYPES[fmt], check)
        return result
    run = current_run()
    owner = Owner.this_process(run.run_id if run is not None else None)
    staged: list[str] = []
    try:
        for object_key, fmt, out, _ in objects:
            staging = owner.key(object_key, staging_prefix)
            staged.append(staging)
            upload(client, bucket, staging, out, CONTENT_TYPES[fmt], check)
        check()  # the last moment to leave every target as it was
        for (object_key, fmt, _, _), staging, size in zip(objects, staged, sizes, strict=True):
            copy(client, bucket, staging, object_key, CONTENT_TYPES[fmt], size)
    finally:
        if staged:
            # Best effort: the original error, if any, is the one to report; a later run
            # removes what is left once this process is gone.
            with contextlib.suppress(Exception):
                client.delete_objects(Bucket=bucket, Delete={
                    "Objects": [{"Key": key} for key in staged], "Quiet": True})
    return result


def _size(out: IO[bytes]) -> int:
    out.seek(0, 2)
    return out.tell()


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
