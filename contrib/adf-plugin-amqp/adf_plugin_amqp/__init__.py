"""adf-plugin-amqp: an ``amqp`` source and destination (RabbitMQ) for async-data-flow.

Registered through the entry point group ``adf`` (``amqp = "adf_plugin_amqp"``). Importing
this module is cheap: aio-pika is imported only when a component runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core import component, hookimpl
from adf_plugin_amqp.destination import amqp_destination
from adf_plugin_amqp.source import amqp_source

__version__ = "0.1.0"
__all__ = ["adf_destinations", "adf_sources", "amqp_destination", "amqp_source"]


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    """The ``amqp`` source: consumes a queue, acknowledging after commit."""
    return {"amqp": amqp_source}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    """The ``amqp`` destination: publishes records to a queue, with publisher confirms."""
    return {"amqp": amqp_destination}


# Both stay in this process (DESIGN 11): the source streams and acknowledges on its own
# connection, the destination tells the engine what it has committed.
for _component in (amqp_source, amqp_destination):
    component(in_process=True)(_component)
