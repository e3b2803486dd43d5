"""The mqtt source and destination against the local Mosquitto, through real ``adf``
processes: round trip, SIGTERM drain, dead letters, a cut connection (each below the
broker's queue limit for an absent session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adf_core.testing import brokers
from adf_core.testing.brokers import Broker

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]


def test_round_trip_through_the_destination_and_the_source(broker: Broker, tmp_path: Path
                                                           ) -> None:
    brokers.round_trip(broker, tmp_path)


def test_sigterm_drains_without_loss_or_duplicate(broker: Broker, tmp_path: Path) -> None:
    brokers.drain(broker, tmp_path, count=900, at=200, upfront=400)


def test_a_bad_message_is_dead_lettered_and_acknowledged(broker: Broker, tmp_path: Path
                                                         ) -> None:
    brokers.dead_letter(broker, tmp_path)


def test_a_cut_connection_is_reopened_with_backoff(broker: Broker, tmp_path: Path) -> None:
    brokers.reconnect(broker, tmp_path, lambda port: f"mqtt://127.0.0.1:{port}",
                      "127.0.0.1", 1883, count=900, cuts=(200, 500))
