"""A loopback TCP proxy for plugin tests: what a network does to a client, on demand.

A connector's retry, resume and reconnect code is only tested when a real connection really
breaks. :class:`TcpProxy` listens on 127.0.0.1 (a free port), forwards every connection to a
server, and can

- ``cut()`` every open connection now (the client sees the server hang up; new connections
  are still accepted): a broker restarting, a load balancer dropping idle connections;
- ``cut_after(n, request=...)`` the response to the next requests whose first bytes match a
  regular expression, after ``n`` bytes of it (headers included): a long download or an
  upload's reply broken off half way;
- slow what clients send down to ``upstream_rate`` bytes per second over all connections
  together: an upload that lasts long enough to kill its process in the middle.

.. code-block:: python

    from adf_core.testing.proxy import TcpProxy

    with TcpProxy("127.0.0.1", 4222) as proxy:      # a server on loopback
        url = proxy.url("nats")                     # nats://127.0.0.1:<proxy port>
        ...                                         # start the client on url
        proxy.cut()                                 # it must reconnect
    assert proxy.cuts == 1
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType

__all__ = ["TcpProxy"]


@dataclass
class _Connection:
    """One client's connection: whether the response flowing back is to be cut and after how
    much, and how many of its two directions have ended."""

    cut: bool = False
    limit: int = 0
    ended: int = 0


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of ``host:port`` (see the module's docstring).

    ``cuts`` counts the cuts made: each ``cut()`` call and each response cut off.
    """

    def __init__(self, host: str, port: int, *, upstream_rate: float | None = None) -> None:
        self.target = (host, port)
        self.upstream_rate = upstream_rate
        self.cuts = 0
        self._lock = threading.Lock()
        self._request = re.compile(b"")
        self._limits = [0]
        self._first_cut = 0  # the number of responses cut before cut_after was called
        self._cut_until = 0
        self._responses_cut = 0
        self._next_send = 0.0
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def url(self, scheme: str = "http", path: str = "") -> str:
        """The proxy's address as a URL: ``scheme://127.0.0.1:port`` + ``path``."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def cut(self) -> None:
        """Close every connection the proxy has accepted (one whose data has not passed yet may
        not be); new ones are accepted as before."""
        with self._lock:
            sockets, self._open = self._open, []
            self.cuts += 1
        for sock in sockets:
            _hang_up(sock)

    def cut_after(self, after: int | list[int], *, request: str = "", times: int = 1) -> None:
        """Cut the responses to the next ``times`` requests whose first bytes match the regular
        expression ``request`` (anything, by default) once ``after`` bytes of each have passed;
        a list gives one byte count a cut, its last for the cuts beyond it. A call replaces
        the cuts an earlier one has not made yet."""
        with self._lock:
            self._request = re.compile(request.encode())
            self._limits = after if isinstance(after, list) else [after]
            self._first_cut = self._responses_cut
            self._cut_until = self._responses_cut + times

    def close(self) -> None:
        """Stop accepting, close every connection and wait for the proxy's threads."""
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._accepting.join()
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            _hang_up(sock)
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:  # the server is down: the client sees a hang-up, as without us
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            connection = _Connection()
            for args in ((client, upstream, connection, True),
                         (upstream, client, connection, False)):
                thread = threading.Thread(target=self._pipe, args=args, daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pipe(self, source: socket.socket, sink: socket.socket, connection: _Connection,
              upstream: bool) -> None:
        sent = 0
        chunk = 16384 if upstream and self.upstream_rate else 65536  # throttled: finer steps
        try:
            while data := source.recv(chunk):
                if upstream:
                    self._note_request(data, connection)
                    if self.upstream_rate:
                        self._pause(len(data))
                elif connection.cut:
                    room = connection.limit - sent
                    if len(data) >= room:
                        sink.sendall(data[:room])
                        raise ConnectionAbortedError  # the cut: hang up both ends
                    sent += len(data)
                sink.sendall(data)
        except OSError:
            for sock in (source, sink):  # shutdown wakes the other pipe, blocked in recv
                _hang_up(sock)
            return
        # An orderly end of one direction is passed on as such (half-close); the sockets
        # are closed once both directions have ended.
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        with self._lock:
            connection.ended += 1
            both = connection.ended == 2
        if both:
            _hang_up(source)
            _hang_up(sink)

    def _note_request(self, data: bytes, connection: _Connection) -> None:
        with self._lock:
            if self._responses_cut < self._cut_until and self._request.match(data):
                nth = self._responses_cut - self._first_cut
                connection.limit = self._limits[min(nth, len(self._limits) - 1)]
                connection.cut = True
                self._responses_cut += 1
                self.cuts += 1

    def _pause(self, size: int) -> None:
        assert self.upstream_rate
        with self._lock:
            now = time.monotonic()
            until = self._next_send = max(now, self._next_send) + size / self.upstream_rate
        time.sleep(max(0.0, until - now))


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
