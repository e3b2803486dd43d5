"""Where the ``s3`` destination stages objects before it publishes them, and who cleans up.

Staging objects live under a reserved prefix at the bucket root, ``.adf-staging/``, never
under the target prefix: a reader of ``out/`` (the ``s3`` source, Spark, Athena, a plain
listing) cannot see them, and the dot keeps Hadoop-style readers of the bucket root away too.
Each run stages under a folder that names its owner::

    .adf-staging/<host>/<pid>/<token>/<target key>

so that a later run can tell the leftovers of a process that died (SIGKILL, power loss) from
the objects of a run still going: on the same host (and PID namespace) an owner whose process
no longer exists is dead; an owner on another host is presumed dead once its objects are
older than ``STALE_AFTER``. The destination removes dead owners' objects and aborts their
unfinished multipart uploads before it writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

STAGING_PREFIX = ".adf-staging/"
#: an owner on another host is presumed dead once its staging objects are this old
STALE_AFTER = dt.timedelta(hours=24)
#: staging keys of adf-plugin-s3 0.1 (beside their target): ``out/a.jsonl.adf-staging-<hex>``
LEGACY_STAGING = re.compile(r"\.adf-staging-[0-9a-f]{12}$")


def is_staging_key(key: str) -> bool:
    """True for the key of a staging object (which a reader of data must never see)."""
    return f"/{STAGING_PREFIX}" in f"/{key}" or bool(LEGACY_STAGING.search(key))


def host_id() -> str:
    """This host, as staging keys name it: the host name, plus the PID namespace on Linux
    (two containers may share a host name, never a PID namespace)."""
    name = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"
    with contextlib.suppress(OSError):
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
        name += "~" + re.sub(r"\D", "", namespace)
    return name


@dataclass(frozen=True)
class Owner:
    """One run's staging folder: ``<prefix><host>/<pid>/<token>/``."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls, run_id: str | None = None) -> Owner:
        token = uuid.uuid4().hex[:12]
        if run_id:
            token = f"{re.sub(r'[^A-Za-z0-9_-]', '_', run_id)}-{token[:6]}"
        return cls(host_id(), os.getpid(), token)

    def folder(self, prefix: str = STAGING_PREFIX) -> str:
        return f"{prefix}{self.host}/{self.pid}/{self.token}/"

    def key(self, target_key: str, prefix: str = STAGING_PREFIX) -> str:
        return self.folder(prefix) + target_key

    @classmethod
    def of_key(cls, key: str, prefix: str = STAGING_PREFIX) -> Owner | None:
        """The owner named by a staging key, or None for a key that is not one."""
        if not key.startswith(prefix):
            return None
        parts = key[len(prefix):].split("/", 3)
        if len(parts) < 4 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    def is_dead(self, last_modified: dt.datetime | None, now: dt.datetime) -> bool:
        """Whether this owner's staging may be removed by another run."""
        if self.host == host_id():
            return not _process_exists(self.pid)
        return last_modified is not None and now - last_modified > STALE_AFTER


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    except OSError:
        return True  # cannot tell: keep its objects
    return True


def remove_dead_staging(client: Any, bucket: str, prefix: str = STAGING_PREFIX) -> list[str]:
    """Delete the staging objects and abort the multipart uploads of dead owners.

    Returns the keys removed (aborted uploads included). Best effort: a run must not fail
    because it may not list or delete under the staging prefix; the error is left to the
    writes that follow if they too are refused.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    now = dt.datetime.now(dt.UTC)
    removed: list[str] = []
    try:
        dead = [item["Key"] for item in _listing(client, bucket, prefix)
                if _dead(item["Key"], item.get("LastModified"), now, prefix)]
        for start in range(0, len(dead), 1000):
            chunk = dead[start:start + 1000]
            client.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": key} for key in chunk], "Quiet": True})
            removed += chunk
        for upload in _uploads(client, bucket, prefix):
            if _dead(upload["Key"], upload.get("Initiated"), now, prefix):
                with contextlib.suppress(ClientError):  # completed or aborted meanwhile
                    client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                                  UploadId=upload["UploadId"])
                removed.append(upload["Key"])
    except (ClientError, BotoCoreError):
        pass
    return removed


def _dead(key: str, when: Any, now: dt.datetime, prefix: str) -> bool:
    owner = Owner.of_key(key, prefix)
    if owner is None:
        return False  # not ours to judge: someone put it there by hand
    stamp = when if isinstance(when, dt.datetime) else None
    return owner.is_dead(stamp, now)


def _listing(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def _uploads(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = client.list_multipart_uploads(**request)
        yield from page.get("Uploads", [])
        if not page.get("IsTruncated"):
            return
        request.update(KeyMarker=page.get("NextKeyMarker", ""),
                       UploadIdMarker=page.get("NextUploadIdMarker", ""))
