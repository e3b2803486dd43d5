"""What the ``s3`` components check before a run (``adf run --dry-run``) and the connection
they open under ``--check`` (``adf_core.component(check=..., probe=...)``).

The probe asks for the bucket (``HEAD``) and, for a source, the object or the first key under
the prefix; it reads no object. Credentials come from the standard AWS chain, as for a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adf_core.checks import CheckFailed, Options, Problem, exactly_one

key_or_prefix = exactly_one("key", "prefix")


def object_key(options: Options) -> Iterator[Problem]:
    """A destination ``key`` names an object (not only slashes)."""
    key = options.get("key")
    if isinstance(key, str) and not key.strip("/"):
        yield Problem(f"{key!r} is not an object key", option="key")


def bucket_name(options: Options) -> Iterator[Problem]:
    """A bucket name is a name, not a path or a URL."""
    bucket = options.get("bucket")
    if isinstance(bucket, str) and ("/" in bucket or not bucket.strip()):
        yield Problem(f"{bucket!r} is not a bucket name (put the path in `key` or `prefix`)",
                      option="bucket")


def _client(options: Options) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=options.get("region") or None)
    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})
    return session.client("s3", endpoint_url=options.get("endpoint_url") or None,
                          config=config)


def _fail(exc: Exception, bucket: str, what: str = "") -> CheckFailed:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket") and not what:
            return CheckFailed(f"the bucket {bucket!r} does not exist", option="bucket")
        if code in ("404", "NoSuchKey"):
            return CheckFailed(f"no object {what!r} in the bucket {bucket!r}", option="key")
        if code in ("403", "AccessDenied"):
            return CheckFailed(f"access to the bucket {bucket!r} is denied ({code}); check the "
                               "AWS credentials", option="bucket")
        return CheckFailed(f"the bucket {bucket!r}: {code or exc}", option="bucket")
    return CheckFailed(f"cannot reach S3 for the bucket {bucket!r}: {type(exc).__name__}: "
                       f"{exc}", option="endpoint_url")


def probe_source(options: Options) -> str:
    """The bucket exists; the object exists, or the prefix lists at least one key."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = options["bucket"]
    client = _client(options)
    try:
        client.head_bucket(Bucket=bucket)
        key = options.get("key")
        if key:
            try:
                client.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                raise _fail(exc, bucket, key) from None
            return f"s3://{bucket}/{key} found"
        prefix = options.get("prefix") or ""
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except (BotoCoreError, ClientError) as exc:
        raise _fail(exc, bucket) from None
    if not listed.get("Contents"):
        raise CheckFailed(f"no object under s3://{bucket}/{prefix}", option="prefix")
    return f"s3://{bucket}/{prefix}: objects found"


def probe_destination(options: Options) -> str:
    """The bucket exists and answers."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = options["bucket"]
    try:
        _client(options).head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as exc:
        raise _fail(exc, bucket) from None
    return f"bucket {bucket!r} found"
