"""A real S3 API for the tests: moto's server on 127.0.0.1 (port 0), reached by endpoint_url.

No patched clients: the components make real HTTP requests through boto3's default session,
which finds the fake credentials below in the environment (the standard AWS chain).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from adf_core.testing.proxy import TcpProxy

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION")


@pytest.fixture(scope="session")
def fake_aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in UNSET_AWS_ENV:
            mp.delenv(name, raising=False)
        for name, value in FAKE_AWS_ENV.items():
            mp.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def s3_endpoint(fake_aws_env: None) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Bucket:
    """A fresh bucket on the moto server, with a client to arrange and inspect objects."""

    name: str
    endpoint_url: str
    client: Any

    def options(self, **extra: Any) -> dict[str, Any]:
        """The component options that reach this bucket."""
        return {"bucket": self.name, "endpoint_url": self.endpoint_url, **extra}

    def put(self, key: str, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def put_jsonl(self, key: str, records: list[dict[str, Any]]) -> None:
        self.put(key, "".join(json.dumps(r) + "\n" for r in records))

    def get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def get_jsonl(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.get(key).decode().splitlines() if line]

    def keys(self, prefix: str = "") -> list[str]:
        response = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return [item["Key"] for item in response.get("Contents", [])]

    def pending_multipart_uploads(self) -> list[str]:
        response = self.client.list_multipart_uploads(Bucket=self.name)
        return [item["Key"] for item in response.get("Uploads", [])]


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    import boto3

    client = boto3.session.Session().client("s3", endpoint_url=s3_endpoint)
    name = f"adf-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(name=name, endpoint_url=s3_endpoint, client=client)


def _proxy(endpoint: str, **options: Any) -> TcpProxy:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    return TcpProxy(parts.hostname or "127.0.0.1", parts.port or 80, **options)


@pytest.fixture
def cutting_proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    """A proxy in front of the S3 server whose ``cut_after`` breaks responses off."""
    with _proxy(s3_endpoint) as proxy:
        yield proxy


@pytest.fixture
def slow_proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    """A proxy in front of the S3 server that passes uploads at 4 MB/s, so that an upload
    lasts long enough to kill its process in the middle."""
    with _proxy(s3_endpoint, upstream_rate=4e6) as proxy:
        yield proxy
