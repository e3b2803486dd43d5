"""The s3 destination, called directly against the moto server."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import gzip
import io
import json

import pytest
from adf_plugin_s3 import S3RecordError, S3Written, s3_destination

from adf_core import RunAborted
from adf_core.engine.run_info import RunInfo, set_current_run

ORDERS = [{"id": 1, "total": 10}, {"id": 2, "total": 20}]
REFUNDS = [{"id": 9, "total": -5}]


def test_writes_every_upstream_member_to_one_jsonl_object_in_order(bucket):
    result = s3_destination(
        **bucket.options(key="out/all.jsonl"), upstream={"orders": ORDERS, "refunds": REFUNDS}
    )

    assert bucket.get_jsonl("out/all.jsonl") == ORDERS + REFUNDS
    assert result == S3Written({f"s3://{bucket.name}/out/all.jsonl": 3})
    assert result.records == 3
    head = bucket.client.head_object(Bucket=bucket.name, Key="out/all.jsonl")
    assert head["ContentType"] == "application/x-ndjson"


def test_reads_streams_of_batches_and_of_records(bucket):
    def batches():
        yield ORDERS
        yield REFUNDS

    s3_destination(
        **bucket.options(key="s.jsonl"),
        upstream={"a": batches(), "b": iter([{"id": 3}])},
    )

    assert bucket.get_jsonl("s.jsonl") == [*ORDERS, *REFUNDS, {"id": 3}]


def test_writes_csv_with_every_column_in_first_seen_order(bucket):
    records = [{"id": 1, "name": "Jo, Smith"}, {"id": 2, "tags": ["a", "b"]}, {"id": 3, "x": None}]

    s3_destination(**bucket.options(key="people.csv"), upstream={"p": records})

    rows = list(csv.reader(io.StringIO(bucket.get("people.csv").decode())))
    assert rows == [
        ["id", "name", "tags", "x"],
        ["1", "Jo, Smith", "", ""],
        ["2", "", '["a", "b"]', ""],
        ["3", "", "", ""],
    ]


def test_writes_a_json_array(bucket):
    s3_destination(**bucket.options(key="o.json"), upstream={"o": ORDERS})
    s3_destination(**bucket.options(key="empty.json"), upstream={})

    assert json.loads(bucket.get("o.json")) == ORDERS
    assert json.loads(bucket.get("empty.json")) == []


def test_gzip_from_the_key_or_the_compression_option(bucket):
    s3_destination(**bucket.options(key="o.jsonl.gz"), upstream={"o": ORDERS})
    s3_destination(**bucket.options(key="o.jsonl", compression="gzip"), upstream={"o": ORDERS})

    for key in ("o.jsonl.gz", "o.jsonl"):
        lines = gzip.decompress(bucket.get(key)).decode().splitlines()
        assert [json.loads(line) for line in lines] == ORDERS


def test_database_values_become_json(bucket):
    record = {
        "day": dt.date(2026, 11, 24),
        "at": dt.datetime(2026, 11, 24, 21, 30, tzinfo=dt.UTC),
        "amount": decimal.Decimal("12.30"),
        "raw": b"\x00\xff",
    }

    s3_destination(**bucket.options(key="v.jsonl"), upstream={"v": [record]})

    assert bucket.get_jsonl("v.jsonl") == [
        {"day": "2026-11-24", "at": "2026-11-24T21:30:00+00:00", "amount": 12.3, "raw": "AP8="}
    ]


def test_input_picks_context_keys_and_prefix_writes_one_object_each(bucket):
    context = {"eu": [{"id": 1}], "us": [{"id": 2}], "unused": [{"id": 3}]}

    result = s3_destination(
        **bucket.options(prefix="split/", format="csv"), input=["eu", "us"], context=context
    )

    assert bucket.keys("split/") == ["split/eu.csv", "split/us.csv"]
    assert bucket.get("split/us.csv").decode().splitlines() == ["id", "2"]
    assert result.objects == {
        f"s3://{bucket.name}/split/eu.csv": 1,
        f"s3://{bucket.name}/split/us.csv": 1,
    }


def test_an_input_missing_from_the_context_is_an_error(bucket):
    with pytest.raises(LookupError, match="'nope' is not in the flow context"):
        s3_destination(**bucket.options(key="x.jsonl"), input=["nope"], context={"eu": []})


def test_a_bad_later_record_names_its_number_and_leaves_no_object(bucket):
    records = [{"id": 1}, {"id": 2}, {"id": 3, "bad": object()}, {"id": 4}]

    with pytest.raises(S3RecordError) as caught:
        s3_destination(**bucket.options(key="out.jsonl"), upstream={"r": records})

    assert str(caught.value).startswith(f"s3://{bucket.name}/out.jsonl: record 3: ")
    assert "not JSON serializable" in str(caught.value)
    assert bucket.keys() == []


def test_an_input_that_fails_part_way_leaves_no_object_and_keeps_the_old_one(bucket):
    bucket.put_jsonl("daily.jsonl", [{"yesterday": True}])

    def failing_stream():
        yield [{"id": i} for i in range(1000)]
        yield [{"id": 1000}]
        raise ConnectionError("source went away")

    with pytest.raises(ConnectionError):
        s3_destination(**bucket.options(key="daily.jsonl"), upstream={"r": failing_stream()})

    assert bucket.keys() == ["daily.jsonl"]
    assert bucket.get_jsonl("daily.jsonl") == [{"yesterday": True}]
    assert bucket.pending_multipart_uploads() == []


def test_csv_with_another_delimiter(bucket):
    s3_destination(**bucket.options(key="o.csv", delimiter=";"), upstream={"o": ORDERS})

    assert bucket.get("o.csv").decode().splitlines() == ["id;total", "1;10", "2;20"]


def test_large_objects_go_through_multipart_and_leave_no_upload_behind(bucket):
    # About 10 MB: above boto3's 8 MB multipart threshold.
    records = ({"id": i, "pad": "x" * 1000} for i in range(10_000))

    result = s3_destination(**bucket.options(key="big.jsonl"), upstream={"r": records})

    assert result.records == 10_000
    assert bucket.get_jsonl("big.jsonl")[-1]["id"] == 9_999
    assert bucket.pending_multipart_uploads() == []


def test_nothing_is_uploaded_once_another_component_of_the_run_failed(bucket):
    run = RunInfo(run_id="r1", flow="src | s3, other", started_at=0.0)
    run.statuses["other"] = "failed"
    set_current_run(run)
    try:
        with pytest.raises(RunAborted, match="'other' failed"):
            s3_destination(**bucket.options(key="o.jsonl"), upstream={"src": ORDERS})
    finally:
        set_current_run(None)

    assert bucket.keys() == []


def test_a_sibling_failing_while_records_are_written_stops_the_destination(bucket):
    run = RunInfo(run_id="r2", flow="src | s3, other", started_at=0.0)
    seen = []

    def batches():
        for i in range(100):
            seen.append(i)
            if i == 2:
                run.statuses["other"] = "failed"  # what the engine records for a sibling
            yield [{"id": i}]

    set_current_run(run)
    try:
        with pytest.raises(RunAborted, match="'other' failed"):
            s3_destination(**bucket.options(key="o.jsonl"), upstream={"src": batches()})
    finally:
        set_current_run(None)

    assert seen == [0, 1, 2]
    assert bucket.keys() == []


def test_a_non_record_item_is_an_error(bucket):
    with pytest.raises(TypeError, match="expected a record"):
        s3_destination(**bucket.options(key="o.jsonl"), upstream={"x": iter([{"id": 1}, 5])})
    assert bucket.keys() == []


def test_a_missing_bucket_fails_before_any_input_is_read(bucket):
    consumed = []

    def records():
        for i in range(10):
            consumed.append(i)
            yield {"id": i}

    with pytest.raises(FileNotFoundError, match="the bucket 'no-such-bucket' does not exist"):
        s3_destination(
            bucket="no-such-bucket", key="o.jsonl", endpoint_url=bucket.endpoint_url,
            upstream={"r": records()},
        )
    assert consumed == []


@pytest.mark.parametrize("where", [{}, {"key": "a", "prefix": "b/"}, {"key": ""}])
def test_exactly_one_of_key_or_prefix(bucket, where):
    with pytest.raises(ValueError, match=r"exactly one of `key` or `prefix`|not an object key"):
        s3_destination(**bucket.options(**where), upstream={"o": ORDERS})


def test_round_trip_through_every_format(bucket):
    from adf_plugin_s3 import s3_source

    records = [{"id": 1, "city": "Zürich", "n": 1.5}, {"id": 2, "city": "Lyon, FR", "n": None}]
    for key in ("r.jsonl", "r.csv", "r.json", "r.csv.gz"):
        s3_destination(**bucket.options(key=key), upstream={"r": records})
        read = [r for batch in s3_source(**bucket.options(key=key)) for r in batch]
        assert read == records, key


def test_a_failed_upload_of_several_objects_leaves_every_target_as_it_was(
        bucket, cutting_proxy):
    # A real network failure: the proxy in front of the S3 server cuts every response to
    # the second object's (staging) upload, after the first object was uploaded.
    bucket.put_jsonl("out/a.jsonl", [{"old": True}])
    cutting_proxy.cut_after(0, request=rf"PUT /{bucket.name}/\.adf-staging/\S*/out/b\.jsonl ",
                            times=1000)
    options = {**bucket.options(prefix="out/"), "endpoint_url": cutting_proxy.url()}
    context = {"a": [{"new": 1}], "b": [{"x": 2}]}

    with pytest.raises(Exception):  # noqa: B017 - botocore's connection error, whatever its class
        s3_destination(**options, input=["a", "b"], context=context)

    assert cutting_proxy.cuts >= 1
    assert bucket.get_jsonl("out/a.jsonl") == [{"old": True}], "the old object is untouched"
    assert bucket.keys() == ["out/a.jsonl"], "no staging object is left behind"
    assert bucket.pending_multipart_uploads() == []


def test_several_objects_are_published_together(bucket):
    bucket.put_jsonl("out/a.jsonl", [{"old": True}])
    context = {"a": [{"new": 1}], "b": [{"x": 2}]}

    s3_destination(**bucket.options(prefix="out/"), input=["a", "b"], context=context)

    assert bucket.get_jsonl("out/a.jsonl") == [{"new": 1}]
    assert bucket.get_jsonl("out/b.jsonl") == [{"x": 2}]
    assert bucket.keys() == ["out/a.jsonl", "out/b.jsonl"]


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_next_run_removes_the_staging_of_dead_processes_only(bucket):
    import datetime as dt
    import os

    from adf_plugin_s3.staging import Owner, host_id

    dead = Owner(host_id(), _dead_pid(), "run1")
    alive = Owner(host_id(), os.getppid(), "run2")  # pytest's parent: alive
    elsewhere = Owner("another-host", 1, "run3")  # young: maybe still uploading
    for owner in (dead, alive, elsewhere):
        bucket.put(owner.key("out/a.jsonl"), b"{}\n")
    upload = bucket.client.create_multipart_upload(Bucket=bucket.name,
                                                   Key=dead.key("out/b.jsonl"))
    bucket.put("out/a.jsonl", b'{"old": true}\n')
    bucket.put(".adf-staging/notes.txt", b"put here by hand")

    s3_destination(**bucket.options(key="other.jsonl"), upstream={"o": ORDERS})

    assert sorted(bucket.keys(".adf-staging/")) == sorted([
        ".adf-staging/notes.txt", alive.key("out/a.jsonl"), elsewhere.key("out/a.jsonl")])
    assert upload["Key"] not in bucket.pending_multipart_uploads()
    now = dt.datetime.now(dt.UTC)
    assert not elsewhere.is_dead(now - dt.timedelta(hours=23), now)
    assert elsewhere.is_dead(now - dt.timedelta(hours=25), now)


def test_staging_prefix_moves_the_staging_and_must_end_with_the_reserved_folder(bucket):
    from adf_plugin_s3 import upload as uploads

    big = ({"id": i, "pad": "x" * 1000} for i in range(9_000))  # above one part
    s3_destination(**bucket.options(key="curated/big.jsonl",
                                    staging_prefix="curated/.adf-staging/"),
                   upstream={"r": big})
    assert bucket.keys() == ["curated/big.jsonl"]
    assert len(bucket.get_jsonl("curated/big.jsonl")) == 9_000
    assert uploads.PART_SIZE < 9_000 * 1000

    with pytest.raises(ValueError, match=r"must end with the folder '\.adf-staging/'"):
        s3_destination(**bucket.options(key="o.jsonl", staging_prefix="tmp/"), upstream={})
    with pytest.raises(ValueError, match="inside the staging prefix"):
        s3_destination(**bucket.options(key=".adf-staging/o.jsonl"), upstream={})



def test_parquet_is_written_without_gzip(bucket):
    with pytest.raises(ValueError, match="parquet compresses its own columns"):
        s3_destination(**bucket.options(key="out.parquet.gz"), upstream={"a": [{"id": 1}]})
    with pytest.raises(ValueError, match="parquet compresses its own columns"):
        s3_destination(**bucket.options(prefix="out/", format="parquet", compression="gzip"),
                       upstream={"a": [{"id": 1}]})
    assert bucket.keys() == []
