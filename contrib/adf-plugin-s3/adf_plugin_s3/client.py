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
