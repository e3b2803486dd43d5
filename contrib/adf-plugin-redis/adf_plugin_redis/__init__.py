"""adf-plugin-redis: a ``redis`` source and destination (Redis Streams) for async-data-flow.

Registered through the entry point group ``adf`` (``redis = "adf_plugin_redis"``). Importing
this module is cheap: redis-py is imported only when a component runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core import component, hookimpl
from adf_plugin_redis.destination import redis_destination
from adf_plugin_redis.source import redis_source

__version__ = "0.1.0"
__all__ = ["adf_destinations", "adf_sources", "redis_destination", "redis_source"]


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    """The ``redis`` source: reads a stream through a consumer group, acknowledging after commit."""
    return {"redis": redis_source}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    """The ``redis`` destination: appends records to a stream."""
    return {"redis": redis_destination}


# Both stay in this process (DESIGN 11): the source streams and acknowledges on its own
# connection, the destination tells the engine what it has committed.
for _component in (redis_source, redis_destination):
    component(in_process=True)(_component)
