"""The S3 client: boto3's default session, so credentials come from the standard AWS chain."""

from __future__ import annotations

from typing import Any


def make_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """An S3 client; ``endpoint_url`` points at an S3-compatible service (MinIO, moto, ...).

    Credentials are never options: boto3 finds them (environment, shared config and credentials
    files with ``AWS_PROFILE``, SSO, container and instance metadata roles).
    """
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=region or None)
    config = Config(retries={"mode": "standard"})
    return session.client("s3", endpoint_url=endpoint_url or None, config=config)


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def check_bucket(client: Any, bucket: str) -> None:
    """Fail fast on a bucket that does not exist or an endpoint that does not answer.

    A ``403`` says nothing (the credentials may lack ``s3:ListBucket`` yet may write): the
    request that follows will tell.
    """
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise FileNotFoundError(f"the bucket {bucket!r} does not exist") from None
