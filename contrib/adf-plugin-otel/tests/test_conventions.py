"""Semantic conventions from a component's URL option: a broker source and destination get
``messaging.*`` (with the batch size), a database source ``db.response.returned_rows``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from adf_plugin_otel.receiver import Receiver

SCRIPT = '''
import adf_plugin_otel
from adf_core import DataFlow, step
from adf_core.plugins import PluginManager, observing

def consume(url: str) -> list[dict[str, int]]:
    return [{"n": n} for n in range(3)]

def lookup(consume: list[dict[str, int]], url: str) -> list[dict[str, int]]:
    return consume + consume

def publish(lookup: list[dict[str, int]], servers: list[str]) -> None:
    pass

pm = PluginManager()
pm.register(adf_plugin_otel, name="otel")
flow = DataFlow((
    step(consume, options={"url": "amqps://etl:secret-amqp@mq.example:5671/orders"}),
    step(lookup, options={"url": "postgresql+psycopg://db.example/sales"}),
    step(publish, options={"servers": ["nats://n1.example:4222", "nats://n2.example:4222"]}),
))
with observing(pm):
    flow.run()
print("done")
'''


def test_messaging_and_database_attributes_come_from_the_url_options(
        receiver: Receiver, otel_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], env=otel_env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert "done" in done.stdout, done.stderr
    spans = {span.name: span.attributes for span in receiver.spans()}
    assert spans["consume"].items() >= {
        "messaging.system": "rabbitmq", "messaging.operation.type": "receive",
        "messaging.batch.message_count": 3}.items()
    assert spans["publish"].items() >= {
        "messaging.system": "nats", "messaging.operation.type": "send",
        "messaging.batch.message_count": 6}.items()
    assert spans["lookup"]["db.system"] == "postgresql"
    assert "db.response.returned_rows" not in spans["lookup"]  # a transform: it read rows in
    assert "secret-amqp" not in str(receiver.requests)
