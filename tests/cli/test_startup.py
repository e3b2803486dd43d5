"""``adf --help`` stays cheap: no engine, no structlog, no heavy connector libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("boto3", "botocore", "sqlalchemy", "httpx", "dask", "distributed", "opentelemetry",
         "google.protobuf", "requests")

PROBE = """
import json, sys
from adf_core.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(*args: str) -> set[str]:
    """The modules a fresh interpreter has imported after ``adf ARGS``."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args))],
                          capture_output=True, text=True, check=True)
    return set(json.loads(done.stderr.splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    modules = imported("--help")
    for name in (*HEAVY, "structlog", "asyncio", "pluggy", "adf_core.engine.flow", "adf_plugins"):
        assert name not in modules, name


def test_listing_plugins_imports_no_connector_library() -> None:
    modules = imported("plugins")
    for name in (*HEAVY, "structlog", "adf_core.engine.flow"):
        assert name not in modules, name
