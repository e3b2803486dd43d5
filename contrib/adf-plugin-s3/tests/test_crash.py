"""Real `adf run` processes killed while the s3 destination writes several objects.

Two sources stream about 9 MB each into `dst=s3 -o dst.prefix=out/` (one object per source,
each above the 8 MiB part size, so both are multipart). The uploads go through a proxy that
slows them to a few MB/s, so the process can be killed at chosen points: while records are
spooled, while a part is uploaded, once one object is staged, and while the targets are
published. Afterwards the target prefix holds, per object, the old or the complete new
content and nothing else (no staging object, no multipart upload in progress); the staging
left by a SIGKILL is invisible to the `s3` source and removed by the next run; a SIGINT or
SIGTERM leaves nothing at all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from adf_plugin_s3 import s3_source

pytestmark = pytest.mark.timeout(300)

RECORDS = 70_000  # about 9 MB of jsonl per object
PAD = "x" * 100
SOURCES = '''
import os
import time

def _records(tag):
    count = int(os.environ["CRASH_RECORDS"])
    marker = os.environ.get("CRASH_MARKER")
    for start in range(0, count, 1000):
        yield [{"tag": tag, "id": i, "pad": "PAD"} for i in range(start, min(start + 1000, count))]
        if marker and tag == "a" and start == 20_000:
            open(marker, "w").close()
            time.sleep(float(os.environ.get("CRASH_PAUSE", "0")))

def a():
    yield from _records("a")

def b():
    yield from _records("b")
'''.replace("PAD", PAD)
OLD = {"out/a.jsonl": [{"tag": "a", "old": True}], "out/b.jsonl": [{"tag": "b", "old": True}]}


def new_records(tag: str) -> list[dict[str, Any]]:
    return [{"tag": tag, "id": i, "pad": PAD} for i in range(RECORDS)]


def start_run(bucket: Any, endpoint: str, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    (tmp_path / "crash_sources.py").write_text(SOURCES)
    options = {"dst.bucket": bucket.name, "dst.prefix": "out/", "dst.endpoint_url": endpoint}
    args = [arg for k, v in options.items() for arg in ("-o", f"{k}={v}")]
    environ = {**os.environ, "PYTHONPATH": str(tmp_path), "CRASH_RECORDS": str(RECORDS),
               "CRASH_MARKER": str(tmp_path / "halfway"), **env}
    return subprocess.Popen(
        [sys.executable, "-m", "adf_core.cli", "run",
         "a=crash_sources:a, b=crash_sources:b | dst=s3", *args, "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ, cwd=tmp_path,
    )


def wait_for(proc: subprocess.Popen[str], condition: Callable[[], bool], what: str) -> bool:
    """Poll ``condition`` until it holds (True) or the process ended first (False)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def staged_uploads(bucket: Any) -> list[str]:
    response = bucket.client.list_multipart_uploads(Bucket=bucket.name, Prefix=".adf-staging/")
    return [u["Key"] for u in response.get("Uploads", [])]


def etag(bucket: Any, key: str) -> str:
    return str(bucket.client.head_object(Bucket=bucket.name, Key=key)["ETag"])


def kill_points(bucket: Any, tmp_path: Path) -> dict[str, Callable[[], bool]]:
    old_etag = {}

    def publishing() -> bool:
        if not old_etag:
            old_etag["a"] = etag(bucket, "out/a.jsonl")
        return etag(bucket, "out/a.jsonl") != old_etag["a"]

    publishing()
    return {
        "while spooling": lambda: (tmp_path / "halfway").exists(),
        "while a part uploads": lambda: bool(staged_uploads(bucket)),
        "once one object is staged": lambda: bool(bucket.keys(".adf-staging/")),
        "while publishing": publishing,
    }


def assert_targets_old_or_new(bucket: Any) -> dict[str, str]:
    """Every target is its old or its complete new content; nothing else is under out/."""
    assert bucket.keys("out/") == ["out/a.jsonl", "out/b.jsonl"]
    assert [k for k in bucket.pending_multipart_uploads() if k.startswith("out/")] == []
    states = {}
    for key, old in OLD.items():
        content = bucket.get_jsonl(key)
        if content == old:
            states[key] = "old"
        else:
            assert content == new_records(old[0]["tag"]), f"{key} is neither old nor new"
            states[key] = "new"
    return states


def read_with_the_s3_source(bucket: Any, prefix: str) -> list[dict[str, Any]]:
    return [r for batch in s3_source(**bucket.options(prefix=prefix)) for r in batch]


@pytest.fixture
def old_targets(bucket: Any) -> Any:
    for key, records in OLD.items():
        bucket.put_jsonl(key, records)
    return bucket


POINTS = ["while spooling", "while a part uploads", "once one object is staged",
          "while publishing"]


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_leaves_old_or_new_targets_and_the_next_run_removes_the_staging(
        old_targets: Any, slow_proxy: Any, tmp_path: Path, point: str) -> None:
    bucket = old_targets
    condition = kill_points(bucket, tmp_path)[point]
    proc = start_run(bucket, slow_proxy.url(), tmp_path, CRASH_PAUSE="0.5")
    reached = wait_for(proc, condition, point)
    proc.kill()
    proc.wait()
    if point != "while publishing":  # publishing is short: the run may have finished first
        assert reached, f"the run ended before {point}: {proc.stderr.read()[-2000:]}"

    states = assert_targets_old_or_new(bucket)
    if point != "while publishing":
        assert states == {"out/a.jsonl": "old", "out/b.jsonl": "old"}
    # What readers see: the targets only, never the staging of the dead run.
    expected = [r for key in ("out/a.jsonl", "out/b.jsonl") for r in bucket.get_jsonl(key)]
    assert read_with_the_s3_source(bucket, "out/") == expected
    assert read_with_the_s3_source(bucket, "") == expected

    # The next run of an s3 destination into this bucket removes what the dead run left.
    proc = start_run(bucket, bucket.endpoint_url, tmp_path, CRASH_MARKER="")
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    assert assert_targets_old_or_new(bucket) == {"out/a.jsonl": "new", "out/b.jsonl": "new"}
    assert bucket.keys() == ["out/a.jsonl", "out/b.jsonl"]
    assert bucket.pending_multipart_uploads() == []


SIGNALS = [
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
]


@pytest.mark.parametrize("point", POINTS[:3])
@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_a_signal_aborts_the_uploads_and_leaves_nothing_behind(
        old_targets: Any, slow_proxy: Any, tmp_path: Path, point: str, signum: int,
        code: int) -> None:
    bucket = old_targets
    condition = kill_points(bucket, tmp_path)[point]
    proc = start_run(bucket, slow_proxy.url(), tmp_path, CRASH_PAUSE="0.5")
    assert wait_for(proc, condition, point), proc.stderr.read()[-2000:]  # type: ignore[union-attr]
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == code, stderr
    assert assert_targets_old_or_new(bucket) == {"out/a.jsonl": "old", "out/b.jsonl": "old"}
    assert bucket.keys() == ["out/a.jsonl", "out/b.jsonl"], "no staging object is left"
    assert bucket.pending_multipart_uploads() == [], "every multipart upload was aborted"


def test_staging_objects_never_live_under_the_target_prefix(bucket: Any, slow_proxy: Any,
                                                            tmp_path: Path) -> None:
    """While a run uploads, a listing of the target prefix shows the targets only."""
    proc = start_run(bucket, slow_proxy.url(), tmp_path, CRASH_MARKER="")
    seen: set[str] = set()

    def staged() -> bool:
        seen.update(bucket.keys("out/"))
        seen.update(k for k in bucket.pending_multipart_uploads() if k.startswith("out/"))
        return bool(bucket.keys(".adf-staging/"))

    assert wait_for(proc, staged, "a staged object")
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    assert seen <= {"out/a.jsonl", "out/b.jsonl"}
    assert bucket.keys() == ["out/a.jsonl", "out/b.jsonl"]
    assert json.loads(bucket.get("out/b.jsonl").splitlines()[-1])["id"] == RECORDS - 1
