"""Acknowledgement after commit: a source's acknowledgements run once every destination that
received its records has committed them (DESIGN 15).

Positions count the items (batches) of a stream. A source calls ``on_commit(callback)``
right after a ``yield``: the callback covers every item it has yielded so far. A
destination calls ``committed()`` right after a commit: everything it has taken from its
streams is safe. A source's position is covered once every reader of its stream covers it:

- a destination (or any consumer without a stream of its own) covers what it said it
  committed, or everything it read once it has finished;
- a streaming transform covers the input it had read when it yielded the last output its
  own readers cover (so a transform must yield what it derives from an item before it asks
  for the next; the built-in ones do).

Callbacks run on the event loop, in the order they were registered (an awaitable they
return is awaited before the next). A callback that fails is logged: the broker redelivers
what was not acknowledged, so the worst case is a duplicate, never a loss.

A run is *continuous* when one of its components is marked ``acknowledges`` (the broker
sources): destinations then commit in micro-batches (``micro_batches``), and SIGTERM/SIGINT
drain the run (``draining()``) instead of cancelling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from adf_core.engine.markers import marked
from adf_core.engine.reporting import calling_component
from adf_core.engine.run_info import current_run

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__adf_acknowledges__"
#: how often a waiting micro-batch looks whether a source asked to commit soon
_SLICE_S = 0.05


def acknowledges(fn: F) -> F:
    """Mark a source that acknowledges its input after commit (``on_commit``): a run that
    contains one is continuous (micro-batch commits, SIGTERM drains)."""
    setattr(fn, ATTRIBUTE, True)
    return fn


def declares_acks(fn: Any) -> bool:
    return bool(marked(fn, ATTRIBUTE))


class AckBook:
    """The acknowledgements of one run."""

    def __init__(self, run: Any) -> None:  # the RunState (it imports this module)
        self.run = run
        self.loop = run.loop
        self.continuous = any(declares_acks(c.fn) for c in run.plan.components)
        self.lock = threading.Lock()
        #: source alias -> (position, callback), oldest first
        self.pending: dict[str, deque[tuple[int, Callable[[], Any]]]] = {}
        #: (producer, consumer) -> items of producer's stream the consumer committed
        self.committed: dict[tuple[str, str], int] = {}
        #: transform alias -> (its items so far, {producer: items read}) at each yield
        self.marks: dict[str, deque[tuple[int, dict[str, int]]]] = {}
        self.drain = threading.Event()
        self.soon = threading.Event()
        self.errors: list[BaseException] = []
        self._tails: dict[str, asyncio.Future[Any]] = {}
        #: source alias -> acknowledgements taken from ``pending`` that have not run yet
        self.running: dict[str, int] = {}
        self._changed = asyncio.Event()

    # positions ---------------------------------------------------------------------------
    def mark(self, alias: str, items: int) -> None:
        """A streaming transform yielded its item number ``items``: remember its input."""
        comp = self.run.plan.by_alias[alias]
        read: dict[str, int] = {}
        for producer in comp.stream_inputs:
            stream = self.run.streams.get(producer)
            channel = stream.channels.get(alias) if stream else None
            read[producer] = channel.read if channel is not None else 0
        with self.lock:
            self.marks.setdefault(alias, deque()).append((items, read))

    def _read(self, producer: str, consumer: str) -> int:
        stream = self.run.streams.get(producer)
        channel = stream.channels.get(consumer) if stream else None
        return channel.read if channel is not None else 0

    def covered(self, producer: str, depth: int = 0) -> int:
        """Items of ``producer``'s stream that every reader has committed (lock held)."""
        comp = self.run.plan.by_alias[producer]
        stream = self.run.streams.get(producer)
        if stream is None or not comp.subscribers or depth > 64:
            return 0
        lowest: int | None = None
        for consumer in comp.subscribers:
            status = self.run.info.statuses.get(consumer)
            if status in ("failed", "cancelled"):
                return 0
            if self.run.plan.by_alias[consumer].subscribers:
                pos = self._through(consumer, producer, depth, status == "finished")
            elif status == "finished":
                pos = self._read(producer, consumer)
            else:
                pos = self.committed.get((producer, consumer), 0)
            lowest = pos if lowest is None else min(lowest, pos)
        return lowest or 0

    def _through(self, transform: str, producer: str, depth: int, finished: bool) -> int:
        out = self.covered(transform, depth + 1)
        stream = self.run.streams.get(transform)
        if finished and stream is not None and out >= stream.items:
            return self._read(producer, transform)  # all it read is in what was committed
        marks = self.marks.get(transform)
        if not marks:
            return 0
        while len(marks) > 1 and marks[1][0] <= out:
            marks.popleft()
        return marks[0][1].get(producer, 0) if marks[0][0] <= out else 0

    # sources -----------------------------------------------------------------------------
    def on_commit(self, alias: str, callback: Callable[[], Any]) -> None:
        stream = self.run.streams.get(alias)
        position = stream.items if stream is not None else 0
        with self.lock:
            self.pending.setdefault(alias, deque()).append((position, callback))
        self.settle()

    def settle(self) -> None:
        """Run every acknowledgement that is now covered (from any thread)."""
        due: dict[str, list[Callable[[], Any]]] = {}
        with self.lock:
            for source, queue in self.pending.items():
                if not queue:
                    continue
                cover = self.covered(source)
                while queue and queue[0][0] <= cover:
                    due.setdefault(source, []).append(queue.popleft()[1])
                    self.running[source] = self.running.get(source, 0) + 1
        if not due:
            return
        rejects = self.run.rejects
        if rejects.total():  # dead-lettered messages are acknowledged once in the file
            with self.lock:
                rejects.checkpoint()
        if _on_this_loop(self.loop):
            self._fire(due)
        else:
            self.loop.call_soon_threadsafe(self._fire, due)

    def _fire(self, due: dict[str, list[Callable[[], Any]]]) -> None:
        for source, callbacks in due.items():
            before = self._tails.get(source)
            task = asyncio.ensure_future(self._run(source, before, callbacks))
            self._tails[source] = task
        self._changed.set()

    async def _run(self, source: str, before: asyncio.Future[Any] | None,
                   callbacks: list[Callable[[], Any]]) -> None:
        if before is not None and not before.done():
            await asyncio.shield(before)
        for callback in callbacks:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # redelivered later: a duplicate, not a loss
                self.errors.append(exc)
                self.run.events.warning("ack.failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                with self.lock:
                    self.running[source] -= 1
        self._changed.set()

    async def finish(self, alias: str) -> None:
        """The source ``alias`` has produced its last item: end its stream now, and wait until
        its acknowledgements have run (or the run failed)."""
        stream = self.run.streams.get(alias)
        if stream is not None:
            for channel in stream.channels.values():
                channel.finish()
        while True:
            self.settle()
            with self.lock:
                left = len(self.pending.get(alias, ())) + self.running.get(alias, 0)
            if not left:
                return
            if self.run.info.failed():
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.2)

    # destinations ------------------------------------------------------------------------
    def commit(self, consumer: str) -> None:
        comp = self.run.plan.by_alias.get(consumer)
        if comp is None:
            return
        with self.lock:
            for producer in comp.stream_inputs:
                self.committed[(producer, consumer)] = self._read(producer, consumer)
        self.soon.clear()
        self.settle()


def _on_this_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _book() -> AckBook | None:
    run = current_run()
    return getattr(run, "acks", None) if run is not None else None


# the public functions (adf_core.acks) ------------------------------------------------------

def on_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once every destination that received what the calling source has
    yielded so far has committed it (call it right after a ``yield``). It runs on the event
    loop; an awaitable it returns is awaited. Outside a run it runs at once."""
    book = _book()
    alias = calling_component()
    if book is None or alias is None:
        result = callback()
        if inspect.isawaitable(result):
            raise RuntimeError("on_commit outside a run cannot await the callback")
        return
    book.on_commit(alias, callback)


def committed() -> None:
    """The calling destination has committed everything it has read from its streams."""
    book = _book()
    alias = calling_component()
    if book is not None and alias is not None:
        book.commit(alias)


def continuous() -> bool:
    """Whether this run is continuous (a source in it acknowledges after commit)."""
    book = _book()
    return bool(book is not None and book.continuous)


def draining() -> bool:
    """Whether the run was asked to drain (SIGTERM/SIGINT in a continuous run): a source
    stops consuming and returns; destinations commit what they have."""
    book = _book()
    return bool(book is not None and book.drain.is_set())


def commit_soon() -> None:
    """A source waits for acknowledgements (its broker stops sending until it acknowledges):
    ask the destinations to commit what they have now rather than at ``commit_interval``."""
    book = _book()
    if book is not None and not book.soon.is_set():
        book.soon.set()
        for stream in list(book.run.streams.values()):  # wake destinations waiting for more
            for channel in stream.channels.values():
                nudge = getattr(channel, "nudge", None)
                if nudge is not None:
                    nudge()


async def finish() -> None:
    """Call from an async source when it stops consuming, before it closes its connection:
    ends its stream at once and waits until its acknowledgements have run."""
    book = _book()
    alias = calling_component()
    if book is not None and alias is not None:
        await book.finish(alias)


def per_item(items: Iterable[Any]) -> Iterator[list[Any]]:
    """Micro-batches of one item each (a destination that commits every item)."""
    for item in items:
        yield [item]


def micro_batches(items: Iterable[Any], commit_every: int = 1000,
                  commit_interval: float = 1.0) -> Iterator[list[Any]]:
    """Group a stream's items (records or batches of records) into micro-batches: a batch
    ends at ``commit_every`` records, ``commit_interval`` seconds after its first item, when a
    source asks to commit soon, or at the end of the stream. Commit each one, then call
    ``committed()``. It never reads ahead, so what was read is what was committed."""
    from adf_core.engine.streams import SyncReader

    every = max(int(commit_every), 1)
    book = _book()
    timed = getattr(items, "get_within", None) if isinstance(items, SyncReader) else None
    iterator = iter(items)
    batch: list[Any] = []
    size = 0
    started = 0.0
    while True:
        if timed is None or not batch:
            try:
                item = next(iterator)
            except StopIteration:
                break
        else:
            left = started + commit_interval - time.monotonic()
            if left <= 0 or (book is not None and book.soon.is_set()):
                yield batch
                batch, size = [], 0
                continue
            try:
                found, item = timed(min(left, _SLICE_S))
            except StopIteration:
                break
            if not found:
                continue
        if not batch:
            started = time.monotonic()
        batch.append(item)
        size += len(item) if type(item) is list else 1
        if size >= every:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def micro_batches_of(inputs: Iterable[tuple[str, Iterable[Any]]], commit_every: int = 1000,
                     commit_interval: float = 1.0) -> Iterator[list[tuple[str, Any]]]:
    """``micro_batches`` over several named inputs, as ``(name, item)`` pairs: the streams are
    read side by side, so an unbounded or quiet input never holds back the others (read one
    after the other, a second broker source would never be read at all). Finite inputs (lists)
    come first, whole. Like ``micro_batches`` it never reads ahead: what was read is in the
    batch, so ``committed()`` after committing the batch is true of every input."""
    from adf_core.engine.streams import SyncReader

    streams: list[tuple[str, SyncReader]] = []
    for name, data in inputs:
        if isinstance(data, SyncReader):
            streams.append((name, data))
            continue
        for batch in micro_batches(data, commit_every, commit_interval):
            yield [(name, item) for item in batch]
    if len(streams) == 1:
        name, stream = streams[0]
        for batch in micro_batches(stream, commit_every, commit_interval):
            yield [(name, item) for item in batch]
        return
    yield from _side_by_side(streams, max(int(commit_every), 1), commit_interval)


def _side_by_side(streams: list[tuple[str, Any]], every: int, commit_interval: float
                  ) -> Iterator[list[tuple[str, Any]]]:
    """Round after round, take what each stream has ready; when none has anything, wait a
    short slice on one of them in turn (a quiet stream delays the others by one slice)."""
    book = _book()
    live = dict(streams)
    batch: list[tuple[str, Any]] = []
    size = 0
    started = 0.0
    turn = 0
    while live:
        arrived = [(name, item) for name in list(live)
                   if (item := _ready(live, name, 0.0)) is not _NOTHING]
        if not arrived and live:
            name = list(live)[turn % len(live)]
            turn += 1
            wait = _SLICE_S / 5
            if batch:
                wait = max(0.0, min(wait, started + commit_interval - time.monotonic()))
            if (item := _ready(live, name, wait)) is not _NOTHING:
                arrived.append((name, item))
        for name, item in arrived:
            if not batch:
                started = time.monotonic()
            batch.append((name, item))
            size += len(item) if type(item) is list else 1
            if size >= every:
                yield batch
                batch, size = [], 0
        if batch and (time.monotonic() - started >= commit_interval
                      or (book is not None and book.soon.is_set())):
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


_NOTHING = object()


def _ready(live: dict[str, Any], name: str, wait: float) -> Any:
    """The next item of stream ``name`` if it comes within ``wait`` seconds, else
    ``_NOTHING``; a stream that ended leaves ``live``."""
    try:
        found, item = live[name].get_within(wait)
    except StopIteration:
        del live[name]
        return _NOTHING
    return item if found else _NOTHING
