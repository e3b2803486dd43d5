"""MQTT URLs (mqtt://[user:password@]host[:port]) to aiomqtt clients."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

_quiet = logging.getLogger("adf_plugin_mqtt.client")
_quiet.setLevel(logging.ERROR)  # aiomqtt warns about every pending publish beyond a few


def client(url: str, **options: Any) -> Any:
    import aiomqtt

    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", ""):
        raise ValueError(f"mqtt: the URL must start with mqtt://, got {parts.scheme}://")
    return aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883,
                          username=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None,
                          logger=_quiet, **options)
