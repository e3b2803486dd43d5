"""A real S3 API for the tests: moto's server on 127.0.0.1 (port 0), reached by endpoint_url.

No patched clients: the components make real HTTP requests through boto3's default session,
which finds the fake credentials below in the environment (the standard AWS chain).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

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


@dataclass
class _Cut:
    """Whether the response now flowing on one connection is to be cut, and after how much."""

    active: bool = False
    limit: int = 0


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of the S3 server that breaks downloads off.

    After :meth:`cut`, the response to a request whose first line starts with the given
    prefix is forwarded for ``after`` bytes (headers included), then both connections are
    closed: what a dropped connection does to a long download.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut_request: re.Pattern[bytes] = re.compile(b"")
        self._limits = [0]
        self.max_cuts = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._sockets: list[Any] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.getsockname()[:2]
        return f"http://{host}:{port}"

    def cut(self, request_prefix: str, after: int | list[int], times: int = 1) -> None:
        """Cut the next ``times`` responses; ``after`` is a byte count, or one per cut."""
        self.cut_matching(re.escape(request_prefix), after, times)

    def cut_matching(self, pattern: str, after: int | list[int], times: int = 1) -> None:
        """Like ``cut``, for requests whose first line matches the regular expression."""
        with self._lock:
            self.cut_request, self.max_cuts = re.compile(pattern.encode()), times
            self._limits = after if isinstance(after, list) else [after]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            cutting = _Cut()
            for args in ((client, upstream, cutting, True), (upstream, client, cutting, False)):
                thread = threading.Thread(target=self._pipe, args=args, daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pipe(self, source: Any, sink: Any, cutting: _Cut, is_request: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if is_request:
                    with self._lock:
                        if self.cut_request.match(data) and self.cuts < self.max_cuts:
                            cutting.limit = self._limits[min(self.cuts, len(self._limits) - 1)]
                            cutting.active = True
                            self.cuts += 1
                elif cutting.active:
                    room = cutting.limit - sent
                    if len(data) >= room:
                        sink.sendall(data[:room])
                        break
                    sent += len(data)
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):  # shutdown wakes the other pipe, blocked in recv
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._accepting.join()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join()


@pytest.fixture
def cutting_proxy(s3_endpoint: str) -> Iterator[CuttingProxy]:
    from urllib.parse import urlsplit

    parts = urlsplit(s3_endpoint)
    proxy = CuttingProxy((parts.hostname or "127.0.0.1", parts.port or 80))
    yield proxy
    proxy.close()


class ThrottlingProxy:
    """A TCP proxy on 127.0.0.1 in front of the S3 server that slows uploads down.

    Bytes sent to the server pass at ``rate`` bytes per second in total (over every
    connection), so that an upload lasts long enough to kill its process in the middle.
    """

    def __init__(self, target: tuple[str, int], rate: float) -> None:
        self.target = target
        self.rate = rate
        self._next = 0.0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[Any] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.getsockname()[:2]
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for args in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(target=self._pipe, args=args, daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pause(self, size: int) -> None:
        import time

        with self._lock:
            now = time.monotonic()
            until = self._next = max(now, self._next) + size / self.rate
        time.sleep(max(0.0, until - now))

    def _pipe(self, source: Any, sink: Any, throttled: bool) -> None:
        try:
            while data := source.recv(16384):
                if throttled:
                    self._pause(len(data))
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._accepting.join()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join()


@pytest.fixture
def slow_proxy(s3_endpoint: str) -> Iterator[ThrottlingProxy]:
    from urllib.parse import urlsplit

    parts = urlsplit(s3_endpoint)
    proxy = ThrottlingProxy((parts.hostname or "127.0.0.1", parts.port or 80), rate=4e6)
    yield proxy
    proxy.close()
