"""No secret leaves the process: options declared secret, URL passwords and secret params
never reach the receiver, not in attributes, error messages, stack traces nor the flow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from adf_plugin_otel.receiver import Receiver

SCRIPT = '''
import adf_plugin_otel
from adf_core import DataFlow, component, step
from adf_core.plugins import PluginManager, observing

@component(secrets=["api_key"])
def fetch(api_key: str, url: str, token: str) -> list[dict[str, int]]:
    raise ConnectionError(f"refused {url} (key {api_key}, token {token})")

def rows() -> list[dict[str, int]]:
    return [{"n": 1}]

pm = PluginManager()
pm.register(adf_plugin_otel, name="otel")
options = {"api_key": "K-7f3a9c", "url": "postgresql://etl:pw-55d1e0@db.example/sales",
           "token": "tok-91b2c4"}
flow = DataFlow(({rows, step(fetch, retries=1, options=options)},), retry_delay=0.01)
with observing(pm):
    try:
        flow.run()
    except Exception as exc:
        print("failed:", type(exc).__name__)
'''

SECRETS = ("K-7f3a9c", "pw-55d1e0", "tok-91b2c4")


def test_secrets_are_masked_before_anything_is_exported(
        receiver: Receiver, otel_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], env=otel_env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert "failed: ComponentError" in done.stdout, done.stderr
    spans = {span.name: span for span in receiver.spans()}
    fetch = spans["fetch"]
    assert fetch.status_code == 2 and "refused" in fetch.status_message
    assert "db.example" in fetch.status_message  # the URL is shown, its password is not
    assert fetch.attributes["db.system"] == "postgresql"
    everything = "\n".join(str(request) for _, request in receiver.requests)
    assert "exception.stacktrace" in everything and "refused" in everything
    for secret in SECRETS:
        assert secret not in everything
