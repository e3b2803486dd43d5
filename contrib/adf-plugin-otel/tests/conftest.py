"""A real OTLP/HTTP receiver on 127.0.0.1 (port 0) for the tests: it decodes what the
exporters send with opentelemetry-proto, so the tests assert on what a collector would get."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from adf_plugin_otel.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def otel_env(receiver: Receiver) -> dict[str, str]:
    """The environment of an ``adf`` process that exports to the receiver (and nothing from
    the developer's own OTEL_* settings)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME="adf-tests",
               OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test")
    env.pop("ADF_DISABLE_PLUGINS", None)
    env.pop("ADF_LOAD_PLUGINS", None)
    return env
