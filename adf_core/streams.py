"""Streams between generator components: bounded channels, tee, and the helpers users call.

A generator component's items travel through one bounded channel per consumer (a tee, the
slowest consumer setting the pace). Each side of a channel may live on the event loop or
in a worker thread; waiting is done with futures and a condition variable, never by
polling, and the loop is never blocked.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, TypeVar

from adf_core.errors import FlowError

T = TypeVar("T")


class StreamAborted(FlowError):
    """The other side of a stream failed or was cancelled; the real error is reported there."""


class ConsumerGone(Exception):
    """Every consumer of a stream has stopped reading; the producer should stop and close."""


def _wake(loop: asyncio.AbstractEventLoop, owner: int, fut: asyncio.Future[None] | None) -> None:
    if fut is None or fut.done():
        return
    if threading.get_ident() == owner:
        fut.set_result(None)
    else:
        loop.call_soon_threadsafe(_set_if_pending, fut)


def _set_if_pending(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Channel:
    """A bounded FIFO from one producer to one consumer, usable from the loop or a thread."""

    __slots__ = ("_closed", "_cond", "_done", "_error", "_getter", "_items", "_lock", "_loop",
                 "_maxsize", "_owner", "_putter", "consumer", "read")

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int, consumer: str = "") -> None:
        self._loop = loop
        self._owner = threading.get_ident()
        self._items: deque[Any] = deque()
        self._maxsize = max(1, maxsize)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._getter: asyncio.Future[None] | None = None
        self._putter: asyncio.Future[None] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._closed = False
        self.consumer = consumer
        self.read = 0

    @property
    def closed(self) -> bool:
        return self._closed

    # producer side -------------------------------------------------------------------------
    async def put(self, item: Any) -> None:
        while True:
            with self._lock:
                if self._closed:
                    raise ConsumerGone
                if len(self._items) < self._maxsize:
                    self._items.append(item)
                    _wake(self._loop, self._owner, self._getter)
                    self._cond.notify()
                    return
                fut = self._putter = self._loop.create_future()
            await fut

    def put_blocking(self, item: Any) -> None:
        with self._cond:
            while True:
                if self._closed:
                    raise ConsumerGone
                if len(self._items) < self._maxsize:
                    self._items.append(item)
                    _wake(self._loop, self._owner, self._getter)
                    self._cond.notify()
                    return
                self._cond.wait()

    def finish(self, error: BaseException | None = None) -> None:
        """The producer is done (``error``: it failed or was cancelled)."""
        with self._cond:
            self._done = True
            self._error = error
            _wake(self._loop, self._owner, self._getter)
            self._cond.notify_all()

    # consumer side -------------------------------------------------------------------------
    async def get(self) -> Any:
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    self.read += 1
                    _wake(self._loop, self._owner, self._putter)
                    self._cond.notify()
                    return item
                if self._done or self._closed:
                    self._raise_end(StopAsyncIteration)
                fut = self._getter = self._loop.create_future()
            await fut

    def get_blocking(self) -> Any:
        with self._cond:
            while True:
                if self._items:
                    item = self._items.popleft()
                    self.read += 1
                    _wake(self._loop, self._owner, self._putter)
                    self._cond.notify()
                    return item
                if self._done or self._closed:
                    self._raise_end(StopIteration)
                self._cond.wait()

    def _raise_end(self, end: type[Exception]) -> None:
        if self._error is not None:
            raise StreamAborted(
                f"the stream feeding {self.consumer!r} was aborted: {self._error!r}"
            ) from self._error
        raise end

    def close(self) -> None:
        """The consumer stops reading: drop what is buffered and release the producer."""
        with self._cond:
            self._closed = True
            self._items.clear()
            _wake(self._loop, self._owner, self._putter)
            self._cond.notify_all()


class AsyncReader(AsyncIterator[Any]):
    """What a coroutine or async-generator consumer receives for a stream."""

    __slots__ = ("_channel",)

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def __aiter__(self) -> AsyncReader:
        return self

    async def __anext__(self) -> Any:
        return await self._channel.get()

    def __repr__(self) -> str:
        return f"<stream reader for {self._channel.consumer!r}>"


class SyncReader(Iterator[Any]):
    """What a sync consumer (running in its worker thread) receives for a stream."""

    __slots__ = ("_channel",)

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def __iter__(self) -> SyncReader:
        return self

    def __next__(self) -> Any:
        return self._channel.get_blocking()

    def __repr__(self) -> str:
        return f"<stream reader for {self._channel.consumer!r}>"


class Stream:
    """The handle a generator component leaves in the context under its alias.

    Consumers never see this object: each planned consumer receives its own reader.
    """

    __slots__ = ("alias", "channels", "items", "records")

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.channels: dict[str, Channel] = {}
        self.items = 0
        self.records = 0

    def reader_for(self, consumer: str, is_async: bool) -> AsyncReader | SyncReader:
        channel = self.channels[consumer]
        return AsyncReader(channel) if is_async else SyncReader(channel)

    def __iter__(self) -> Iterator[Any]:
        raise FlowError(
            f"stream {self.alias!r} can only be read by the stage right after its producer; "
            "collect it into a list there (adf_core.collect) to use it later"
        )

    def __repr__(self) -> str:
        return f"<stream {self.alias!r}: {self.items} items>"


# Helpers for component authors ------------------------------------------------------------

def collect(stream: Iterable[T]) -> list[T]:
    """Read a whole (sync) stream into a list. For async streams: ``await acollect(stream)``."""
    return list(stream)


async def acollect(stream: AsyncIterable[T]) -> list[T]:
    """Read a whole async stream into a list."""
    return [item async for item in stream]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Group records into lists of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def unbatched(batches: Iterable[Any]) -> Iterator[Any]:
    """Flatten a stream of batches back into records; a non-list item passes as one record."""
    for item in batches:
        if isinstance(item, list):
            yield from item
        else:
            yield item


async def abatched(items: AsyncIterable[T], size: int) -> AsyncIterator[list[T]]:
    """Async ``batched``."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    async for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def aunbatched(batches: AsyncIterable[Any]) -> AsyncIterator[Any]:
    """Async ``unbatched``."""
    async for item in batches:
        if isinstance(item, list):
            for record in item:
                yield record
        else:
            yield item
