"""The s3 source and destination under the bad-record policy, through `adf run` in a
subprocess against moto's S3 server on 127.0.0.1: dead letters name the object and line (a
source) or the record (a destination), and a run past `max_errors` uploads nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def adf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adf_core.cli", "run", *args],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


def options(**values: str) -> list[str]:
    return [arg for key, value in values.items() for arg in ("-o", f"{key}={value}")]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bad_lines_of_an_object_are_dead_lettered_with_its_uri_and_line(bucket, tmp_path):
    bucket.put("in/orders.jsonl", b'{"id": 1}\n{"id": 2, oops\n{"id": 3}\n'
                                  b'{"id": 4, "n": "caf\xe9"}\n{"id": 5}\n')
    bucket.put("in/more.csv", b"\xef\xbb\xbfid,n\n6,a\n7,b,c\n8,d\n")
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    proc = adf("s3 | out=file", *options(**{
        "s3.bucket": bucket.name, "s3.prefix": "in/", "s3.endpoint_url": bucket.endpoint_url,
        "out.path": str(out)}), "--dead-letter", str(dead), "--json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["id"] for r in read_jsonl(out)) == [1, 3, 5, 6, 8]
    positions = sorted((d["position"]["file"], d["position"]["line"]) for d in read_jsonl(dead))
    uri = f"s3://{bucket.name}/in/"
    assert positions == [(uri + "more.csv", 3), (uri + "orders.jsonl", 2),
                         (uri + "orders.jsonl", 4)]
    assert json.loads(proc.stdout)["records_rejected"] == 3


def test_records_the_destination_cannot_write_are_dead_lettered(bucket, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "x": 1}\n{"id": 2, "x": NaN}\n{"id": 3, "x": 3}\n')
    dead = tmp_path / "dead.jsonl"
    s3 = {"s3.bucket": bucket.name, "s3.key": "out.jsonl", "s3.endpoint_url": bucket.endpoint_url}
    proc = adf("file | s3", *options(**{"file.path": str(source), **s3}),
               "--dead-letter", str(dead))
    assert proc.returncode == 0, proc.stderr
    assert bucket.get_jsonl("out.jsonl") == [{"id": 1, "x": 1}, {"id": 3, "x": 3}]
    (letter,) = read_jsonl(dead)
    assert (letter["component"], letter["input"], letter["position"]) == (
        "s3", "file", {"record": 2})


def test_past_max_errors_the_object_keeps_its_old_content(bucket, tmp_path):
    bucket.put("out.jsonl", b'{"old": true}\n')
    source = tmp_path / "in.jsonl"
    source.write_text("".join(f'{{"id": {i}, "x": {"NaN" if i % 2 else i}}}\n'
                              for i in range(10)))
    s3 = {"s3.bucket": bucket.name, "s3.key": "out.jsonl", "s3.endpoint_url": bucket.endpoint_url}
    proc = adf("file | s3", *options(**{"file.path": str(source), **s3}),
               "--on-error", "skip", "--max-errors", "3")
    assert proc.returncode == 1
    assert bucket.get_jsonl("out.jsonl") == [{"old": True}]
    assert bucket.keys() == ["out.jsonl"]
