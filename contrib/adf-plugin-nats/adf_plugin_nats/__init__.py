"""adf-plugin-nats: an ``nats`` source and destination (NATS JetStream) for async-data-flow.

Registered through the entry point group ``adf`` (``nats = "adf_plugin_nats"``). Importing
this module is cheap: nats-py is imported only when a component runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core import component, hookimpl
from adf_plugin_nats.destination import nats_destination
from adf_plugin_nats.source import nats_source

__version__ = "0.1.0"
__all__ = ["adf_destinations", "adf_sources", "nats_destination", "nats_source"]


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    """The ``nats`` source: reads a JetStream stream (durable consumer), acks after commit."""
    return {"nats": nats_source}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    """The ``nats`` destination: publishes records to a JetStream subject."""
    return {"nats": nats_destination}


# Both stay in this process (DESIGN 11): the source streams and acknowledges on its own
# connection, the destination tells the engine what it has committed.
for _component in (nats_source, nats_destination):
    component(in_process=True)(_component)
