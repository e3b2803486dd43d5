"""Connections and streams: connect with reconnection, declare a stream when it is absent."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from adf_plugin_nats.urls import safe_url

log = logging.getLogger("adf_plugin_nats")


async def connect(url: str, what: str) -> Any:
    """A connection that reconnects on its own (every 0.5 s, without end) once made."""
    import nats

    async def disconnected() -> None:
        log.warning("%s: connection to %s lost, reconnecting", what, safe_url(url))

    async def quiet(exc: Exception) -> None:
        log.debug("%s: %s", what, exc)

    try:  # the first connection gives up after 5 s: a wrong URL is an error, not a wait
        return await asyncio.wait_for(nats.connect(
            url, max_reconnect_attempts=-1, reconnect_time_wait=0.5, allow_reconnect=True,
            connect_timeout=2, disconnected_cb=disconnected, error_cb=quiet), 5)
    except (Exception, TimeoutError) as exc:
        raise ConnectionError(f"{what}: cannot connect to {safe_url(url)}: "
                              f"{exc or 'no answer within 5 s'}") from None


async def ensure_stream(js: Any, stream: str, subject: str) -> None:
    """Create ``stream`` on ``subject`` unless it exists."""
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(name=stream, subjects=[subject])
