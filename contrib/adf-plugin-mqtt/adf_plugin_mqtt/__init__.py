"""adf-plugin-mqtt: an ``mqtt`` source and destination (MQTT, QoS 1) for async-data-flow.

Registered through the entry point group ``adf`` (``mqtt = "adf_plugin_mqtt"``). Importing
this module is cheap: aiomqtt is imported only when a component runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core import component, hookimpl
from adf_plugin_mqtt.destination import mqtt_destination
from adf_plugin_mqtt.source import mqtt_source

__version__ = "0.1.0"
__all__ = ["adf_destinations", "adf_sources", "mqtt_destination", "mqtt_source"]


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    """The ``mqtt`` source: subscribes to a topic (QoS 1), acknowledging after commit."""
    return {"mqtt": mqtt_source}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    """The ``mqtt`` destination: publishes records to a topic (QoS 1)."""
    return {"mqtt": mqtt_destination}


# Both stay in this process (DESIGN 11): the source streams and acknowledges on its own
# connection, the destination tells the engine what it has committed.
for _component in (mqtt_source, mqtt_destination):
    component(in_process=True)(_component)
