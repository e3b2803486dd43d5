"""Database and messaging semantic conventions for a component, read from its options.

A component whose ``url`` (or ``dsn``, ``uri``, ``servers``...) option names a database or a
broker by its scheme gets ``db.system`` or ``messaging.system``; the records it read or wrote
become ``db.response.returned_rows`` (a database source) or ``messaging.batch.message_count``.
Options reach the observer with their secrets already masked (``RunInfo.component``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

URL_OPTIONS = ("url", "dsn", "uri", "connection", "database_url", "servers", "server", "broker")

DATABASES = {
    "postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql",
    "mariadb": "mariadb", "sqlite": "sqlite", "duckdb": "duckdb", "oracle": "oracle",
    "mssql": "mssql", "snowflake": "snowflake", "clickhouse": "clickhouse",
    "mongodb": "mongodb", "redis": "redis", "rediss": "redis",
}
BROKERS = {
    "amqp": "rabbitmq", "amqps": "rabbitmq", "mqtt": "mqtt", "mqtts": "mqtt",
    "nats": "nats", "tls": "nats", "kafka": "kafka",
}


def system_of(options: Mapping[str, Any]) -> tuple[str, str] | None:
    """``("db", system)`` or ``("messaging", system)`` from the first URL-like option."""
    for key in URL_OPTIONS:
        value = options.get(key)
        if isinstance(value, list | tuple) and value:
            value = value[0]
        if not isinstance(value, str) or ":" not in value:
            continue
        scheme = value.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme in BROKERS:
            return "messaging", BROKERS[scheme]
        if scheme in DATABASES:
            return "db", DATABASES[scheme]
    return None


def static_attributes(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The conventions known before a component runs."""
    found = system_of(options)
    if found is None:
        return {}
    area, system = found
    if area == "db":
        return {"db.system": system, "db.system.name": system}
    operation = "receive" if kind == "source" else "send"
    return {"messaging.system": system, "messaging.operation.type": operation}


def record_attributes(kind: str, static: Mapping[str, Any], records_in: int,
                      records_out: int) -> dict[str, Any]:
    """The conventions known once a component ended."""
    if "db.system" in static:
        return {"db.response.returned_rows": records_out} if kind == "source" else {}
    if "messaging.system" in static:
        count = records_out if kind == "source" else records_in
        return {"messaging.batch.message_count": count}
    return {}
