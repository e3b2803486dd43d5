"""Shared fixtures: local services skip when absent, and fail under ADF_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import socket

import pytest

SERVICES = {
    "postgresql": ("127.0.0.1", 5432),
    "mariadb": ("127.0.0.1", 3306),
}
#: SQLAlchemy URLs of the local databases (trust auth / no password, database ``test``)
URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


def service_available(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str) -> tuple[str, int]:
    """Skip (or fail, when ADF_REQUIRE_SERVICES=1) unless the named local service answers."""
    host, port = SERVICES[name]
    if not service_available(host, port):
        reason = f"{name} is not running on {host}:{port}"
        if os.environ.get("ADF_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and ADF_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    return host, port


@pytest.fixture
def postgresql_url() -> str:
    """The local PostgreSQL's URL (skips without it; fails under ADF_REQUIRE_SERVICES=1)."""
    require_service("postgresql")
    return URLS["postgresql"]


@pytest.fixture
def mariadb_url() -> str:
    """The local MariaDB's URL (skips without it; fails under ADF_REQUIRE_SERVICES=1)."""
    require_service("mariadb")
    return URLS["mariadb"]
