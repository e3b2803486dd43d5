"""The ``mqtt`` source: subscribe to a topic with QoS 1 and a persistent session, and send
each message's PUBACK only after every destination that received it has committed it
(DESIGN 15).

Until it is acknowledged, the broker keeps a message and sends it again after a reconnect
(a killed run, a dropped connection). Backpressure: the broker sends a client at most its
in-flight window of unacknowledged QoS 1 messages (Mosquitto: `max_inflight_messages`, 20
by default), so memory stays flat; the source then asks its destinations to commit at once.
The session (`client_id`, `clean_session` off) keeps the subscription while the run is
away: messages published meanwhile wait on the broker (up to its queue limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from adf_core import component
from adf_core.acks import acknowledges, commit_soon, finish, on_commit
from adf_core.messages import ReadWindow, decode_messages
from adf_plugin_mqtt.connect import client as make_client
from adf_plugin_mqtt.urls import safe_url

log = logging.getLogger("adf_plugin_mqtt")
_WAIT_S = 0.05  # an idle source looks at draining and idle_timeout this often
_BACKOFF_MAX_S = 5.0


@component
@acknowledges
async def mqtt_source(
    topic: str,
    url: str = "mqtt://127.0.0.1:1883",
    client_id: str = "adf",
    batch_size: int = 1000,
    max_messages: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Subscribe to an MQTT topic (QoS 1): one JSON object per message, acknowledged (PUBACK)
    after commit.

    A persistent session (`client_id`) keeps the subscription between runs. Runs until
    SIGTERM/SIGINT (which drain: commit and acknowledge what is in flight, exit 0), unless
    `max_messages` or `idle_timeout` ends it. A message that is not a JSON object is a bad
    record (`--on-error`, `--dead-letter`), acknowledged once dead-lettered. A lost
    connection is reopened with backoff; the broker sends again what was not acknowledged.

    Args:
        topic: the topic filter (`sensors/#` allowed).
        url: MQTT URL (mqtt://[user:password@]host:port).
        client_id: the session's client id (one per consumer).
        batch_size: messages per batch at most.
        max_messages: stop after this many messages.
        idle_timeout: stop after this many seconds without a message.
    """
    import aiomqtt

    batch_size = max(int(batch_size), 1)
    window = ReadWindow(batch_size, max_messages)  # prefetch: the broker's in-flight window
    idle = 0.0
    delay = 0.1
    connected = False
    while True:
        session = make_client(url, identifier=client_id, clean_session=False)
        session._client.manual_ack_set(True)  # aiomqtt's paho client: PUBACK when we say so
        paho = session._client
        try:
            async with session:
                await session.subscribe(topic, qos=1)
                connected = True
                delay = 0.1
                # aiomqtt's own queue of received messages: a get that times out loses
                # nothing (cancelling the ``messages`` iterator could drop one)
                inbox = session._queue
                while not window.stopping():
                    try:
                        message = await asyncio.wait_for(inbox.get(), _WAIT_S)
                    except TimeoutError:
                        if not paho.is_connected():  # reading the queue would not notice
                            raise aiomqtt.MqttError("the connection was lost") from None
                        idle += _WAIT_S
                        commit_soon()  # the broker may be waiting for our acknowledgements
                        if idle_timeout is not None and idle >= idle_timeout:
                            break
                        continue
                    idle = 0.0
                    chunk = [message]
                    room = window.room()
                    while len(chunk) < room and not inbox.empty():
                        chunk.append(inbox.get_nowait())
                    records = decode_messages([each.payload for each in chunk],
                                              window.received, topic)
                    window.read(len(chunk))
                    if records:
                        yield records
                    on_commit(lambda chunk=chunk, paho=paho: _ack(paho, chunk))
                    if inbox.empty():  # the broker's in-flight window may be full: commit now
                        commit_soon()
                await finish()
                # The broker handles a client's packets in order: once it answers this
                # UNSUBSCRIBE (of a topic we never had), it has our PUBACKs. Closing at once
                # could reset the connection (the broker is still sending) and lose them.
                await session.unsubscribe(f"adf-flush/{client_id}")
                return
        except aiomqtt.MqttError as exc:
            if not connected:  # the first connection: a wrong URL is an error now
                raise ConnectionError(f"mqtt source: cannot subscribe at {safe_url(url)}: "
                                      f"{exc}") from None
            log.warning("mqtt source: reconnecting to %s in %.1fs: %s", safe_url(url), delay,
                        exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)


def _ack(paho: Any, chunk: list[Any]) -> None:
    """PUBACK each message, in the order they came (a lost connection: the broker sends
    them again, a duplicate at worst)."""
    with contextlib.suppress(Exception):
        for message in chunk:
            paho.ack(message.mid, message.qos)
