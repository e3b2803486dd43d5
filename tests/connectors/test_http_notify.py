"""The http source and the notify destination against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog

from adf_core import DataFlow
from adf_plugins.http import read_http
from adf_plugins.notify import notify

ROWS = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]


def run(coro):
    return asyncio.run(coro)


def fetch(url, **options):
    """Every record of the http source's stream (one batch per page)."""

    async def collect():
        return [record async for batch in read_http(url, **options) for record in batch]

    return run(collect())


def test_a_json_list_is_one_record_per_object(http_server):
    url = http_server.route("/customers", (200, ROWS))
    assert fetch(url, params={"page": "1"}, headers={"x-api": "k"}) == ROWS
    request = http_server.requests[0]
    assert request["path"] == "/customers?page=1"
    assert request["headers"]["x-api"] == "k"


def test_a_json_object_is_one_record_or_the_list_at_records_path(http_server):
    url = http_server.route("/one", (200, {"data": {"items": ROWS}, "total": 2}))
    assert fetch(url) == [{"data": {"items": ROWS}, "total": 2}]
    assert fetch(url, records_path="data.items") == ROWS
    with pytest.raises(KeyError, match=r"no 'data\.rows'"):
        fetch(url, records_path="data.rows")


def test_429_and_5xx_are_retried_with_backoff(http_server):
    url = http_server.route(
        "/flaky", (429, {"error": "slow down"}, {"retry-after": "0"}), (503, {}), (200, ROWS)
    )
    assert fetch(url, backoff=0.01) == ROWS
    assert http_server.routes["/flaky"].calls == 3


def test_retries_give_up_with_the_status_and_no_password(http_server):
    url = http_server.route("/down", (500, {"error": "boom"}))
    secret_url = url.replace("http://", "http://user:s3cret@")
    with pytest.raises(RuntimeError, match=r"answered 500 .* after 3 attempt") as info:
        fetch(secret_url, max_retries=2, backoff=0.01)
    assert "s3cret" not in str(info.value)
    assert http_server.routes["/down"].calls == 3


def test_a_client_error_is_not_retried(http_server):
    url = http_server.route("/missing", (404, {"error": "nope"}))
    with pytest.raises(RuntimeError, match="answered 404"):
        fetch(url, backoff=0.01)
    assert http_server.routes["/missing"].calls == 1


def test_a_slow_server_times_out_and_is_retried(http_server):
    url = http_server.route("/slow", (200, ROWS, {"x-test-delay": "1"}))
    with pytest.raises(ConnectionError, match=r"failed after 2 attempt.*Timeout"):
        fetch(url, request_timeout=0.1, max_retries=1, backoff=0.01)


def test_an_answer_that_is_not_json_is_a_clear_error(http_server):
    url = http_server.route("/html", (200, b"<html></html>", {"content-type": "text/html"}))
    with pytest.raises(ValueError, match="did not answer JSON"):
        fetch(url)


def test_http_source_through_the_engine(http_server, tmp_path):
    url = http_server.route("/customers", (200, ROWS))
    out = tmp_path / "customers.jsonl"
    DataFlow.parse("http | file", options={"http": {"url": url}, "file": {"path": str(out)}}).run(
        {}
    )
    assert [json.loads(x) for x in out.read_text().splitlines()] == ROWS


def test_notify_posts_the_run_summary_to_a_webhook(http_server, tmp_path):
    hook = http_server.route("/hook", (503, {}), (200, {"ok": True}))
    (tmp_path / "a.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    (tmp_path / "b.jsonl").write_text('{"id": 3}\n')
    flow = DataFlow.parse(
        "a=file, b=file | merge | out=file, notify",
        options={
            "a": {"path": str(tmp_path / "a.jsonl")},
            "b": {"path": str(tmp_path / "b.jsonl")},
            "out": {"path": str(tmp_path / "out.jsonl")},
            "notify": {"url": hook, "backoff": "0.01", "headers": {"authorization": "Bearer t"}},
        },
    )
    result = flow.run({})
    posted = [r for r in http_server.requests if r["path"] == "/hook"]
    assert len(posted) == 2  # one 503, retried
    assert posted[-1]["headers"]["content-type"] == "application/json"
    assert posted[-1]["headers"]["authorization"] == "Bearer t"
    summary = json.loads(posted[-1]["body"])
    assert summary["run_id"] == result.run_id
    assert summary["status"] == "succeeded"
    assert summary["counts"] == {"merge": 3}
    assert summary["records"] == 3
    assert summary["text"] == f"adf run {result.run_id} succeeded: 3 records"
    assert dict(result["notify"]) == summary


def test_notify_without_url_prints_the_summary_on_stderr(capsys):
    summary = run(notify(upstream={"eu": ROWS, "us": iter([ROWS[:1]]), "log": None}))
    assert summary["counts"] == {"eu": 2, "us": 1}
    assert summary["text"] == "adf succeeded: 3 records (eu: 2, us: 1)"
    assert json.loads(capsys.readouterr().err) == dict(summary)


def test_notify_without_url_logs_a_structlog_event_when_structlog_is_configured():
    was_configured = structlog.is_configured()
    try:
        with structlog.testing.capture_logs() as logs:
            run(notify(upstream={"src": ROWS}))
    finally:
        if not was_configured:  # capture_logs leaves structlog "configured": undo it
            structlog.reset_defaults()
    assert logs[0]["event"] == "notify.summary"
    assert logs[0]["counts"] == {"src": 2}
    assert logs[0]["text"] == "adf succeeded: 2 records"


def test_notify_reports_a_failed_webhook(http_server):
    hook = http_server.route("/hook", (500, {}))
    with pytest.raises(RuntimeError, match=r"POST .*/hook answered 500"):
        run(notify(url=hook, upstream={"src": ROWS}, max_retries=1, backoff=0.01))


def test_pages_are_followed_through_the_link_header(http_server):
    page2 = http_server.base_url + "/items?page=2"
    url = http_server.route(
        "/items", (200, ROWS[:1], {"link": f'<{page2}>; rel="next"'}), (200, ROWS[1:])
    )

    async def batches():
        return [batch async for batch in read_http(url, params={"page": "1"})]

    assert run(batches()) == [ROWS[:1], ROWS[1:]]
    assert [r["path"] for r in http_server.requests] == ["/items?page=1", "/items?page=2"]


def test_pages_are_followed_through_a_next_url_in_the_body(http_server):
    url = http_server.route(
        "/feed",
        (200, {"data": ROWS[:1], "links": {"next": "/feed?cursor=b"}}),
        (200, {"data": ROWS[1:], "links": {"next": None}}),
    )
    assert fetch(url, records_path="data", next_path="links.next") == ROWS
    assert http_server.routes["/feed"].calls == 2
    # the route now answers its last page again: with max_pages=1 nothing more is asked
    assert fetch(url, records_path="data", next_path="links.next", max_pages=1) == ROWS[1:]
