"""Broker messages as records, for plugin authors (DESIGN 15): one JSON object per message.

What every broker plugin does the same way lives here once: ``encode`` a record as the bytes
of one message, ``decode`` one message, ``decode_messages`` a chunk of them (a message that is
not a JSON object goes to the bad-record policy of DESIGN 12, numbered within the run), and
``items`` of a destination's input, a stream or a dataset handed whole; and the head of a
source's read loop, :class:`ReadWindow` (when to stop, how many messages to read next).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from adf_core.data.encoding import json_default
from adf_core.engine.acks import commit_soon, draining
from adf_core.engine.reporting import reject

#: a record as the bytes of one message (decimals, dates and bytes as JSON has them)
encode = json.JSONEncoder(default=json_default, ensure_ascii=False).encode


def decode(body: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """``(record, None)`` for a JSON object, ``(None, why)`` for anything else."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"not a JSON object but a {type(value).__name__}"
    return value, None


def decode_messages(bodies: Iterable[bytes | str], before: int, input: str
                    ) -> list[dict[str, Any]]:
    """The records of a chunk of message bodies. ``before`` messages came earlier in the run:
    a bad one is rejected as ``message N`` (position ``{"message": N}``) of ``input``."""
    records = []
    for number, body in enumerate(bodies, before + 1):
        record, error = decode(body)
        if record is None:
            reject(body, f"message {number}: {error}", position={"message": number},
                   input=input)
        else:
            records.append(record)
    return records


@dataclass
class ReadWindow:
    """The flow control of a broker source's read loop, the same in every broker plugin.

    The source stops once the run drains (SIGTERM) or ``max_messages`` were read; it reads
    ``batch_size`` messages at a time at most; and, with ``prefetch`` (for a client that does
    not bound what it holds itself), it reads no more while ``prefetch`` messages wait for
    their acknowledgement, asking destinations to commit now: they would otherwise wait for
    ``commit_interval`` while the broker waits for the acknowledgements.

    .. code-block:: python

        window = ReadWindow(batch_size, max_messages, prefetch)

        async def ack(messages):
            await client.ack(messages)
            window.acknowledged(len(messages))

        while count := await window.next_count():
            messages = await client.fetch(count)
            records = decode_messages([m.body for m in messages], window.received, subject)
            window.read(len(messages))
            yield records
            on_commit(lambda messages=messages: ack(messages))
        await finish()
    """

    batch_size: int
    max_messages: int | None = None
    prefetch: int | None = None
    #: messages read so far in this run
    received: int = 0
    #: messages read and not yet acknowledged (what bounds a read with ``prefetch``)
    unacked: int = 0

    def stopping(self) -> bool:
        """Whether the source should stop reading: the run drains, or ``max_messages`` were
        read."""
        return draining() or (self.max_messages is not None
                              and self.received >= self.max_messages)

    def room(self) -> int:
        """How many messages the next read may take: ``batch_size``, less if ``prefetch`` or
        ``max_messages`` leave fewer."""
        count = self.batch_size
        if self.prefetch is not None:
            count = min(count, self.prefetch - self.unacked)
        if self.max_messages is not None:
            count = min(count, self.max_messages - self.received)
        return count

    async def next_count(self) -> int:
        """How many messages to read next; 0 once the source should stop. While ``prefetch``
        messages are unacknowledged it asks for a commit and waits for their acks."""
        while not self.stopping():
            if self.prefetch is None or self.unacked < self.prefetch:
                return self.room()
            commit_soon()
            await asyncio.sleep(0.005)
        return 0

    def read(self, count: int) -> None:
        """``count`` messages were read (and await their acknowledgement)."""
        self.received += count
        self.unacked += count

    def acknowledged(self, count: int) -> None:
        """``count`` messages were acknowledged."""
        self.unacked -= count


@dataclass(frozen=True)
class Published:
    """What a broker destination published (stored under its alias)."""

    target: str
    records: int


async def items(data: Any) -> AsyncIterator[Any]:
    """The items of a stream (async) or of a dataset handed whole."""
    if hasattr(data, "__anext__"):
        async for item in data:
            yield item
    else:
        yield data


__all__ = ["Published", "ReadWindow", "decode", "decode_messages", "encode", "items"]
