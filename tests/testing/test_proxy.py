"""The test kit's TCP proxy in front of a real loopback echo server: it forwards, cuts every
connection on demand, cuts a response after N bytes, and slows what clients send."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from adf_core.testing.proxy import TcpProxy


@pytest.fixture
def echo() -> Iterator[int]:
    """An echo server on 127.0.0.1; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def connect(proxy: TcpProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_bytes_pass_both_ways_and_the_url_names_the_proxy(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo) as proxy, connect(proxy) as sock:
        sock.sendall(b"hello")
        assert sock.recv(100) == b"hello"
        assert proxy.url("nats") == f"nats://127.0.0.1:{proxy.port}"
        assert proxy.port != echo


def test_cut_hangs_up_every_connection_and_new_ones_are_accepted(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo) as proxy:
        first, second = connect(proxy), connect(proxy)
        for sock in (first, second):
            sock.sendall(b"ping")
            assert sock.recv(100) == b"ping"
        proxy.cut()
        assert read_to_end(first) == b""
        assert read_to_end(second) == b""
        with connect(proxy) as again:
            again.sendall(b"after")
            assert again.recv(100) == b"after"
        assert proxy.cuts == 1
        first.close()
        second.close()


def test_cut_after_breaks_matching_responses_off_after_so_many_bytes(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo) as proxy:
        proxy.cut_after([1000, 10], request=r"GET /big", times=2)
        with connect(proxy) as other:  # a request that does not match passes whole
            other.sendall(b"PUT /big " + b"x" * 5000)
            other.shutdown(socket.SHUT_WR)
            assert len(read_to_end(other)) == 5009
        received = []
        for _ in range(3):
            with connect(proxy) as sock:
                sock.sendall(b"GET /big " + b"y" * 5000)
                sock.shutdown(socket.SHUT_WR)
                received.append(read_to_end(sock))
        # one byte count a cut, then no more cuts: the third response is whole
        assert [len(r) for r in received] == [1000, 10, 5009]
        assert received[1] == b"GET /big y"
        assert proxy.cuts == 2


def test_upstream_rate_slows_what_clients_send(echo: int) -> None:
    size, rate = 400_000, 2e6  # 0.2 s at that rate; on loopback a few milliseconds without it
    with TcpProxy("127.0.0.1", echo, upstream_rate=rate) as proxy, connect(proxy) as sock:
        echoed: list[bytes] = []
        reader = threading.Thread(target=lambda: echoed.append(read_to_end(sock)))
        started = time.monotonic()
        reader.start()
        sock.sendall(b"z" * size)
        sock.shutdown(socket.SHUT_WR)
        reader.join(30)
        elapsed = time.monotonic() - started
    assert echoed == [b"z" * size]
    assert elapsed >= 0.8 * size / rate
