"""The s3 source and destination pass the standard component contract (adf_core.testing),
against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import adf_plugin_s3
import pytest

from adf_core.testing import ComponentContract

ORDERS = [
    {"id": 1, "region": "eu", "amount": 12.5},
    {"id": 2, "region": "us", "amount": 7.0},
    {"id": 3, "region": "eu", "amount": 3.25},
]


class TestS3Source(ComponentContract):
    plugin = adf_plugin_s3
    component = "s3"
    kind = "source"
    bad_record_number = 3  # the third line of bad.jsonl is not JSON

    @pytest.fixture(autouse=True)
    def _request(self, request: pytest.FixtureRequest) -> None:
        self.request = request  # the bucket is made only by the checks that run the source

    def component_options(self, tmp_path: Path, case: str) -> dict[str, Any]:
        bucket = self.request.getfixturevalue("bucket")
        lines = [json.dumps(r) for r in ORDERS]
        content = {"sample": "\n".join(lines) + "\n", "empty": "",
                   "bad": "\n".join([*lines[:2], "{not json", lines[2]]) + "\n"}[case]
        bucket.put(f"{case}.jsonl", content)
        return bucket.options(key=f"{case}.jsonl")


class TestS3Destination(ComponentContract):
    plugin = adf_plugin_s3
    component = "s3"
    kind = "destination"
    bad_record = {"id": 4, "amount": object()}  # no JSON for it

    @pytest.fixture(autouse=True)
    def _request(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    def component_options(self, tmp_path: Path, case: str) -> dict[str, Any]:
        return self.request.getfixturevalue("bucket").options(key=f"out/{case}.jsonl")
