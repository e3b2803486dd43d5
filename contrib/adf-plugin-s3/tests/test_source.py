"""The s3 source, called directly against the moto server."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from adf_plugin_s3 import S3RecordError, s3_source

RECORDS = [{"id": i, "name": f"n{i}"} for i in range(1, 6)]


def read_all(**options):
    return [record for batch in s3_source(**options) for record in batch]


def test_reads_jsonl_in_batches_of_batch_size(bucket):
    bucket.put_jsonl("orders.jsonl", RECORDS)

    batches = list(s3_source(**bucket.options(key="orders.jsonl", batch_size=2)))

    assert [len(b) for b in batches] == [2, 2, 1]
    assert [r for b in batches for r in b] == RECORDS


def test_jsonl_is_the_default_and_blank_lines_are_skipped(bucket):
    bucket.put("data", '{"a": 1}\n\n{"a": "\u00e9"}\n')

    assert read_all(**bucket.options(key="data")) == [{"a": 1}, {"a": "\u00e9"}]


def test_reads_csv_by_extension_with_types_inferred_like_the_file_source(bucket):
    bucket.put("people.csv", 'id,name,score,note\n1,"Smith, Jo",2.5,\n\n2,"two\nlines",-1e3,x\n')

    assert read_all(**bucket.options(key="people.csv")) == [
        {"id": 1, "name": "Smith, Jo", "score": 2.5, "note": None},
        {"id": 2, "name": "two\nlines", "score": -1000.0, "note": "x"},
    ]


def test_csv_as_strings_with_another_delimiter(bucket):
    bucket.put("people.csv", "id;zip\n1;01234\n2;\n")

    records = read_all(**bucket.options(key="people.csv", delimiter=";", infer_types=False))

    assert records == [{"id": "1", "zip": "01234"}, {"id": "2", "zip": ""}]


def test_reads_a_json_array_and_a_single_object(bucket):
    bucket.put("list.json", json.dumps(RECORDS))
    bucket.put("one.json", json.dumps({"id": 1}))

    assert read_all(**bucket.options(key="list.json")) == RECORDS
    assert read_all(**bucket.options(key="one.json")) == [{"id": 1}]


def test_explicit_format_wins_over_the_extension(bucket):
    bucket.put("export.txt", "a,b\n1,2\n")

    assert read_all(**bucket.options(key="export.txt", format="csv")) == [{"a": 1, "b": 2}]


def test_reads_gzip_objects(bucket):
    bucket.put("orders.jsonl.gz", gzip.compress(b'{"id": 1}\n{"id": 2}\n'))

    assert read_all(**bucket.options(key="orders.jsonl.gz")) == [{"id": 1}, {"id": 2}]


def test_prefix_reads_every_object_in_key_order_whatever_its_format(bucket):
    bucket.put_jsonl("in/2026-11-02.jsonl", [{"day": 2}])
    bucket.put("in/2026-11-01.csv", "day\n1\n")
    bucket.put("in/", b"")  # a console-made "folder" marker is not data
    bucket.put_jsonl("other/2026-11-03.jsonl", [{"day": 3}])

    assert read_all(**bucket.options(prefix="in/")) == [{"day": 1}, {"day": 2}]


def test_key_field_names_the_object_of_each_record(bucket):
    bucket.put_jsonl("in/a.jsonl", [{"id": 1}])
    bucket.put_jsonl("in/b.jsonl", [{"id": 2}])

    assert read_all(**bucket.options(prefix="in/", key_field="_key")) == [
        {"id": 1, "_key": "in/a.jsonl"},
        {"id": 2, "_key": "in/b.jsonl"},
    ]


def test_batches_span_objects(bucket):
    for part in range(3):
        bucket.put_jsonl(f"p/{part}.jsonl", [{"part": part, "i": i} for i in range(3)])

    batches = list(s3_source(**bucket.options(prefix="p/", batch_size=4)))

    assert [len(b) for b in batches] == [4, 4, 1]


def test_a_malformed_json_line_names_the_record_and_the_key(bucket):
    bucket.put("bad.jsonl", '{"id": 1}\n\n{"id": 2}\n{"id": 3,,}\n{"id": 4}\n')

    with pytest.raises(S3RecordError) as caught:
        read_all(**bucket.options(key="bad.jsonl"))

    message = str(caught.value)
    assert f"s3://{bucket.name}/bad.jsonl" in message
    assert "record 3" in message
    assert "line 4" in message
    assert (caught.value.record, caught.value.uri) == (3, f"s3://{bucket.name}/bad.jsonl")


def test_a_jsonl_line_that_is_not_an_object_is_a_bad_record(bucket):
    bucket.put("bad.jsonl", '{"id": 1}\n[1, 2]\n')

    with pytest.raises(S3RecordError, match=r"bad\.jsonl: record 2: .*array, not an object"):
        read_all(**bucket.options(key="bad.jsonl"))


def test_a_csv_row_with_the_wrong_number_of_fields_is_a_bad_record(bucket):
    bucket.put("long.csv", "a,b\n1,2\n3,4,5\n")
    bucket.put("short.csv", "a,b\n1,2\n\n3,4\n5\n")

    with pytest.raises(S3RecordError, match=r"long\.csv: record 2: line 3 has 3 fields"):
        read_all(**bucket.options(key="long.csv"))
    with pytest.raises(S3RecordError, match=r"short\.csv: record 3: line 5 has 1 fields"):
        read_all(**bucket.options(key="short.csv"))


def test_a_json_array_item_that_is_not_an_object_is_a_bad_record(bucket):
    bucket.put("bad.json", '[{"id": 1}, 7]')

    with pytest.raises(S3RecordError, match=r"bad\.json: record 2"):
        read_all(**bucket.options(key="bad.json"))


def test_records_stream_before_the_object_is_read_to_the_end(bucket):
    lines = [json.dumps({"i": i}) for i in range(5000)] + ["not json"]
    bucket.put("big.jsonl", "\n".join(lines) + "\n")

    batches = s3_source(**bucket.options(key="big.jsonl", batch_size=100))
    first = next(batches)

    assert first[0] == {"i": 0}
    with pytest.raises(S3RecordError, match="record 5001"):
        list(batches)


def test_a_missing_key_or_an_empty_prefix_is_an_error(bucket):
    with pytest.raises(FileNotFoundError, match=f"s3://{bucket.name}/nope.jsonl does not exist"):
        read_all(**bucket.options(key="nope.jsonl"))
    with pytest.raises(FileNotFoundError, match="no objects under"):
        read_all(**bucket.options(prefix="nothing/"))


@pytest.mark.parametrize("where", [{"key": "k.jsonl"}, {"prefix": "p/"}])
def test_a_missing_bucket_is_named(bucket, where):
    options = {**bucket.options(**where), "bucket": "no-such-bucket"}

    with pytest.raises(FileNotFoundError, match="the bucket 'no-such-bucket' does not exist"):
        read_all(**options)


@pytest.mark.parametrize("where", [{}, {"key": "a", "prefix": "b/"}])
def test_exactly_one_of_key_or_prefix(bucket, where):
    with pytest.raises(ValueError, match="exactly one of `key` or `prefix`"):
        read_all(**bucket.options(**where))


def test_an_unknown_format_is_an_error(bucket):
    bucket.put("x.jsonl", "{}\n")

    with pytest.raises(ValueError, match="unknown format 'xml'"):
        read_all(**bucket.options(key="x.jsonl", format="xml"))


def test_a_download_cut_half_way_resumes_where_it_broke_off(bucket, cutting_proxy):
    records = [{"i": i, "pad": "x" * 100} for i in range(20_000)]  # about 2.4 MB
    bucket.put_jsonl("big.jsonl", records)
    cutting_proxy.cut_after(300_000, request=re.escape(f"GET /{bucket.name}/big.jsonl"),
                            times=2)

    options = {**bucket.options(key="big.jsonl"), "endpoint_url": cutting_proxy.url()}
    read = read_all(**options)

    assert cutting_proxy.cuts == 2
    assert read == records


def test_a_download_that_cannot_resume_names_the_object(bucket, cutting_proxy, monkeypatch):
    import adf_plugin_s3.source

    monkeypatch.setattr(adf_plugin_s3.source, "RESUME_ATTEMPTS", 2)
    bucket.put_jsonl("big.jsonl", [{"i": i, "pad": "x" * 100} for i in range(20_000)])
    # The first response breaks off after 100 kB; every later request is cut at once.
    cutting_proxy.cut_after([100_000, 0], request=re.escape(f"GET /{bucket.name}/big.jsonl"),
                            times=1000)

    options = {**bucket.options(key="big.jsonl"), "endpoint_url": cutting_proxy.url()}
    with pytest.raises(ConnectionError) as caught:
        read_all(**options)

    message = str(caught.value)
    assert message.startswith(f"s3://{bucket.name}/big.jsonl: the download broke off at byte ")
    assert "could not resume (3 attempts)" in message


def test_an_object_replaced_during_a_resumed_download_is_an_error(bucket, cutting_proxy):
    bucket.put_jsonl("big.jsonl", [{"i": i, "pad": "x" * 100} for i in range(20_000)])
    cutting_proxy.cut_after(1_000_000, request=re.escape(f"GET /{bucket.name}/big.jsonl"))
    options = {**bucket.options(key="big.jsonl", batch_size=100)}
    options["endpoint_url"] = cutting_proxy.url()

    batches = s3_source(**options)
    next(batches)
    bucket.put_jsonl("big.jsonl", [{"new": True}] * 30_000)

    with pytest.raises(RuntimeError, match=r"big\.jsonl was replaced while it was being read"):
        list(batches)


def test_a_prefix_never_reads_staging_objects_of_the_s3_destination(bucket):
    bucket.put_jsonl("out/a.jsonl", [{"id": 1}])
    bucket.put_jsonl(".adf-staging/host/1/run/out/a.jsonl", [{"id": 2}] * 1000)
    bucket.put_jsonl("out/.adf-staging/host/1/run/out/a.jsonl", [{"id": 3}])
    bucket.put_jsonl("out/a.jsonl.adf-staging-0123456789ab", [{"id": 4}] * 1000)  # 0.1's

    for prefix in ("out/", "", "out"):
        records = [r for batch in s3_source(**bucket.options(prefix=prefix)) for r in batch]
        assert records == [{"id": 1}], prefix
    asked = [r for b in s3_source(**bucket.options(prefix=".adf-staging/")) for r in b]
    assert len(asked) == 1000
