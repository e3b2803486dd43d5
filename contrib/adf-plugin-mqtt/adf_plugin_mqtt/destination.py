"""The ``mqtt`` destination: publish each record as a JSON message with QoS 1; an item of the
input counts as committed once the broker acknowledged (PUBACK) all its messages
(``adf_core.acks.committed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adf_core import component
from adf_core.acks import committed
from adf_core.records import iter_batches, select_inputs
from adf_plugin_mqtt.connect import client as make_client
from adf_plugin_mqtt.messages import Published, encode, items
from adf_plugin_mqtt.urls import safe_url

_WINDOW = 100  # QoS 1 messages waiting for their PUBACK at once


@component
async def mqtt_destination(
    topic: str,
    url: str = "mqtt://127.0.0.1:1883",
    retain: bool = False,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
) -> Published:
    """Publish records to an MQTT topic with QoS 1, one JSON object per message.

    MQTT topics need no declaring; a message counts as written once the broker acknowledged
    it (PUBACK).

    Args:
        topic: the topic to publish to.
        url: MQTT URL (mqtt://[user:password@]host:port).
        retain: set the retain flag.
        input: context keys to write instead of every member of the previous stage.
    """
    import aiomqtt

    inputs = select_inputs(upstream, context, input)
    count = 0
    try:
        async with make_client(url, max_inflight_messages=_WINDOW) as session:
            for _name, data in inputs:
                async for item in items(data):
                    for batch in iter_batches(item):
                        for start in range(0, len(batch), _WINDOW):
                            await asyncio.gather(*(
                                session.publish(topic, encode(record), qos=1, retain=retain)
                                for record in batch[start:start + _WINDOW]))
                        count += len(batch)
                    committed()
    except aiomqtt.MqttError as exc:
        raise ConnectionError(f"mqtt destination: cannot publish to {topic!r} at "
                              f"{safe_url(url)}: {exc}") from None
    return Published(f"{safe_url(url)} topic {topic}", count)
