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
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Iterator
from typing import Any, TypeVar

from adf_core.data.records import batched as batched  # re-exported: adf_core.batched
from adf_core.data.records import unbatched as unbatched
from adf_core.engine.counting import item_records
from adf_core.errors import FlowError, RunAborted

T = TypeVar("T")


class StreamAborted(RunAborted):
    """The other side of a stream failed or was cancelled; the real error is reported there."""


class ConsumerGone(Exception):
    """Every consumer of a stream has stopped reading; the producer should stop and close."""


def _set_if_pending(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _ChannelBase:
    """State shared by both channel kinds; items, end of stream, consumer gone."""

    __slots__ = ("_closed", "_done", "_error", "_getter", "_items", "_loop", "_low",
                 "_maxsize", "_putter", "consumer", "read", "records")

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int, consumer: str = "") -> None:
        self._loop = loop
        self._items: deque[Any] = deque()
        self._maxsize = max(1, maxsize)
        # A blocked producer is woken only once the buffer has drained to half: each switch
        # then moves many items instead of one.
        self._low = self._maxsize // 2
        self._getter: asyncio.Future[None] | None = None
        self._putter: asyncio.Future[None] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._closed = False
        self.consumer = consumer
        self.read = 0  # items taken by the consumer
        self.records = 0  # records in them (a batch counts its rows)

    @property
    def closed(self) -> bool:
        return self._closed

    def _raise_end(self, end: type[Exception]) -> None:
        if self._error is not None:
            raise StreamAborted(
                f"the stream feeding {self.consumer!r} was aborted: {self._error!r}"
            ) from self._error
        raise end


class LoopChannel(_ChannelBase):
    """A bounded FIFO whose producer and consumer both run on the event loop (no locks)."""

    __slots__ = ()

    async def put(self, item: Any) -> None:
        if self._closed:
            raise ConsumerGone
        items = self._items
        while len(items) >= self._maxsize:
            fut = self._putter = self._loop.create_future()
            await fut
            if self._closed:
                raise ConsumerGone
        items.append(item)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    async def get(self) -> Any:
        items = self._items
        while not items:
            if self._done or self._closed:
                self._raise_end(StopAsyncIteration)
            fut = self._getter = self._loop.create_future()
            await fut
        item = items.popleft()
        self.read += 1
        self.records += len(item) if type(item) is list else item_records(item)
        putter = self._putter
        if putter is not None and len(items) <= self._low:
            self._putter = None
            if not putter.done():
                putter.set_result(None)
        return item

    def get_blocking(self) -> Any:
        raise RuntimeError("a loop channel has no thread side")

    def put_blocking(self, item: Any) -> None:
        raise RuntimeError("a loop channel has no thread side")

    def _wake_all(self) -> None:
        for fut in (self._getter, self._putter):
            if fut is not None and not fut.done():
                fut.set_result(None)
        self._getter = self._putter = None

    def finish(self, error: BaseException | None = None) -> None:
        """The producer is done (``error``: it failed or was cancelled)."""
        self._done = True
        self._error = error
        self._wake_all()

    def close(self) -> None:
        """The consumer stops reading: drop what is buffered and release the producer."""
        self._closed = True
        self._items.clear()
        self._wake_all()


class Channel(_ChannelBase):
    """A bounded FIFO where either side may be on the loop or in a worker thread.

    Threads wait on conditions; the loop side waits on futures woken with
    ``call_soon_threadsafe`` when the waker is a thread. Nobody polls.
    """

    __slots__ = ("_lock", "_not_empty", "_not_full", "_owner", "_sync_getters",
                 "_sync_putters")

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int, consumer: str = "") -> None:
        super().__init__(loop, maxsize, consumer)
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._sync_getters = 0
        self._sync_putters = 0

    def _wake(self, fut: asyncio.Future[None]) -> None:
        if threading.get_ident() == self._owner:
            _set_if_pending(fut)
        else:
            self._loop.call_soon_threadsafe(_set_if_pending, fut)

    def _after_put(self) -> None:  # lock held
        if self._getter is not None:
            fut, self._getter = self._getter, None
            self._wake(fut)
        if self._sync_getters:
            self._not_empty.notify()

    def _after_get(self) -> None:  # lock held
        if len(self._items) > self._low:
            return
        if self._putter is not None:
            fut, self._putter = self._putter, None
            self._wake(fut)
        if self._sync_putters:
            self._not_full.notify()

    async def put(self, item: Any) -> None:
        while True:
            with self._lock:
                if self._closed:
                    raise ConsumerGone
                if len(self._items) < self._maxsize:
                    self._items.append(item)
                    self._after_put()
                    return
                fut = self._putter = self._loop.create_future()
            await fut

    def put_blocking(self, item: Any) -> None:
        with self._lock:
            while True:
                if self._closed:
                    raise ConsumerGone
                if len(self._items) < self._maxsize:
                    self._items.append(item)
                    self._after_put()
                    return
                self._sync_putters += 1
                try:
                    self._not_full.wait()
                finally:
                    self._sync_putters -= 1

    async def get(self) -> Any:
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    self.read += 1
                    self.records += len(item) if type(item) is list else item_records(item)
                    self._after_get()
                    return item
                if self._done or self._closed:
                    self._raise_end(StopAsyncIteration)
                fut = self._getter = self._loop.create_future()
            await fut

    def get_blocking(self) -> Any:
        with self._lock:
            while True:
                if self._items:
                    item = self._items.popleft()
                    self.read += 1
                    self.records += len(item) if type(item) is list else item_records(item)
                    self._after_get()
                    return item
                if self._done or self._closed:
                    self._raise_end(StopIteration)
                self._sync_getters += 1
                try:
                    self._not_empty.wait()
                finally:
                    self._sync_getters -= 1

    def get_within(self, timeout: float) -> tuple[bool, Any]:
        """``(True, item)``, or ``(False, None)`` when nothing came within ``timeout``
        seconds; StopIteration at the end of the stream (a thread's micro-batches)."""
        with self._lock:
            if not self._items and not (self._done or self._closed):
                self._sync_getters += 1
                try:
                    self._not_empty.wait(timeout)
                finally:
                    self._sync_getters -= 1
            if self._items:
                item = self._items.popleft()
                self.read += 1
                self.records += len(item) if type(item) is list else item_records(item)
                self._after_get()
                return True, item
            if self._done or self._closed:
                self._raise_end(StopIteration)
            return False, None

    def nudge(self) -> None:
        """Wake a consumer thread waiting in ``get_within`` (it returns nothing early)."""
        with self._lock:
            if self._sync_getters:
                self._not_empty.notify_all()

    def _wake_all(self) -> None:  # lock held
        for fut in (self._getter, self._putter):
            if fut is not None:
                self._wake(fut)
        self._getter = self._putter = None
        self._not_empty.notify_all()
        self._not_full.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        """The producer is done (``error``: it failed or was cancelled)."""
        with self._lock:
            self._done = True
            self._error = error
            self._wake_all()

    def close(self) -> None:
        """The consumer stops reading: drop what is buffered and release the producer."""
        with self._lock:
            self._closed = True
            self._items.clear()
            self._wake_all()


AnyChannel = LoopChannel | Channel


class AsyncReader(AsyncIterator[Any]):
    """What a coroutine or async-generator consumer receives for a stream."""

    __slots__ = ("_channel", "_get")

    def __init__(self, channel: AnyChannel) -> None:
        self._channel = channel
        self._get = channel.get

    def __aiter__(self) -> AsyncReader:
        return self

    def __anext__(self) -> Awaitable[Any]:  # the channel's coroutine, no extra frame
        return self._get()

    def __repr__(self) -> str:
        return f"<stream reader for {self._channel.consumer!r}>"


class SyncReader(Iterator[Any]):
    """What a sync consumer (running in its worker thread) receives for a stream."""

    __slots__ = ("_channel", "_get")

    def __init__(self, channel: AnyChannel) -> None:
        self._channel = channel
        self._get = channel.get_blocking

    def __iter__(self) -> SyncReader:
        return self

    def __next__(self) -> Any:
        return self._get()

    def get_within(self, timeout: float) -> tuple[bool, Any]:
        """The next item if one comes within ``timeout`` seconds (see ``Channel``)."""
        return self._channel.get_within(timeout)  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"<stream reader for {self._channel.consumer!r}>"


class Stream:
    """The handle a generator component leaves in the context under its alias.

    Consumers never see this object: each planned consumer receives its own reader.
    """

    __slots__ = ("alias", "channels", "cut", "items", "marks", "records")

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.channels: dict[str, AnyChannel] = {}
        self.items = 0
        self.records = 0
        self.cut = False  # it stopped early because every reader had gone
        #: a streaming transform of a continuous run: ``marks(alias, items)`` at each item,
        #: so that acknowledgements pass through it (``adf_core.engine.acks``)
        self.marks: Any = None

    def count(self, item: Any) -> None:
        """One more item produced (a batch counts its records: a list its length, a columnar
        batch its ``num_rows``)."""
        self.items += 1
        self.records += len(item) if type(item) is list else item_records(item)
        if self.marks is not None:
            self.marks(self.alias, self.items)

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
