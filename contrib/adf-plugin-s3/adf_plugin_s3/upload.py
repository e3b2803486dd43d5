"""Uploads that can be stopped: explicit multipart calls, a check between parts, abort always.

boto3's managed transfer (``upload_fileobj``) cannot be interrupted from outside: a cancelled
run (SIGTERM, Ctrl-C, a failed sibling) would wait for the whole object and might leave the
upload behind if the process then exits. Here the caller's ``check`` runs before every part
(it raises once the run failed or was cancelled), and any exception, that one included,
aborts the multipart upload before it propagates, so S3 keeps no unfinished upload.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import IO, Any

PART_SIZE = 8 * 1024 * 1024  # S3 needs >= 5 MiB for every part but the last
PARALLEL_PARTS = 4  # parts in flight at once (memory: PARALLEL_PARTS x PART_SIZE)
COPY_LIMIT = 5 * 1024**3  # the largest object one CopyObject request may copy


def upload(client: Any, bucket: str, key: str, data: IO[bytes], content_type: str,
           check: Callable[[], None]) -> None:
    """Upload ``data`` (from its start) to ``key``; ``check()`` runs before every request."""
    data.seek(0, 2)
    size = data.tell()
    data.seek(0)
    check()
    if size <= PART_SIZE:
        client.put_object(Bucket=bucket, Key=key, Body=data.read(), ContentType=content_type)
        return
    upload_id = client.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
    try:
        parts = _upload_parts(client, bucket, key, upload_id, data, check)
        check()
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    except BaseException:
        # Best effort: the original error (or the cancel) is the one to report.
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def _upload_parts(client: Any, bucket: str, key: str, upload_id: str, data: IO[bytes],
                  check: Callable[[], None]) -> list[dict[str, Any]]:
    def send(number: int, body: bytes) -> dict[str, Any]:
        response = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                      PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": response["ETag"]}

    parts: list[dict[str, Any]] = []
    pending: set[Future[dict[str, Any]]] = set()
    pool = ThreadPoolExecutor(PARALLEL_PARTS, thread_name_prefix="adf-s3-part")
    try:
        number = 0
        while body := data.read(PART_SIZE):
            check()
            number += 1
            pending.add(pool.submit(send, number, body))
            if len(pending) >= PARALLEL_PARTS:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                parts += [future.result() for future in done]
        for future in pending:
            parts.append(future.result())
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
    return sorted(parts, key=lambda part: part["PartNumber"])


def copy(client: Any, bucket: str, source_key: str, target_key: str, content_type: str,
         size: int) -> None:
    """Server-side copy; up to 5 GiB in one request, so the target is never half there."""
    source = {"Bucket": bucket, "Key": source_key}
    if size <= COPY_LIMIT:
        client.copy_object(Bucket=bucket, Key=target_key, CopySource=source,
                           ContentType=content_type, MetadataDirective="REPLACE")
        return
    from boto3.s3.transfer import TransferConfig

    # Larger objects are copied in parts (boto3 aborts them if a part fails).
    client.copy(source, bucket, target_key,
                ExtraArgs={"ContentType": content_type, "MetadataDirective": "REPLACE"},
                Config=TransferConfig(multipart_threshold=COPY_LIMIT,
                                      multipart_chunksize=512 * 1024**2))
