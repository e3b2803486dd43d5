"""The bad-record policy from Python: on_error, max_errors, dead letters, warnings, strict."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adf_core import (
    BadRecordError,
    ComponentError,
    DataFlow,
    DataWarningError,
    FlowDefinitionError,
    TooManyBadRecords,
    step,
    warn,
)
from adf_core.rejects import current_policy, reject

LINES = ['{"n": 1}', "oops", '{"n": 2}', '{"n": 3, broken', '{"n": 4}', "[5]"]
GOOD = [{"n": 1}, {"n": 2}, {"n": 4}]


def _parsed(line_no: int, text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        reject(text, exc, position={"file": "in.jsonl", "line": line_no}, input="in.jsonl")
        return None
    return record


def gen_source() -> Iterator[list[dict[str, Any]]]:
    for line_no, text in enumerate(LINES, start=1):
        record = _parsed(line_no, text)
        if record is not None:
            yield [record]


async def agen_source() -> AsyncIterator[list[dict[str, Any]]]:
    for line_no, text in enumerate(LINES, start=1):
        record = _parsed(line_no, text)
        if record is not None:
            yield [record]


def sync_source() -> list[dict[str, Any]]:
    return [r for n, t in enumerate(LINES, start=1) if (r := _parsed(n, t)) is not None]


async def async_source() -> list[dict[str, Any]]:
    return sync_source()


def collect(upstream: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for value in upstream.values():
        for item in value:
            out.extend(item if isinstance(item, list) else [item])
    return out


SOURCES = [gen_source, agen_source, sync_source, async_source]


def rejected(result: Any) -> dict[str, int]:
    """alias -> records_rejected, from ``FlowResult.records``."""
    return {alias: counts.records_rejected for alias, counts in result.records.items()}


@pytest.mark.parametrize("source", SOURCES, ids=lambda f: f.__name__)
def test_skip_drops_and_counts_the_bad_records_from_threads_and_the_loop(source):
    result = DataFlow((source, collect), on_error="skip").run()
    assert result["collect"] == GOOD
    assert rejected(result) == {source.__name__: 3, "collect": 0}
    assert result.dead_letters == []


@pytest.mark.parametrize("source", SOURCES, ids=lambda f: f.__name__)
def test_fail_is_the_default_and_raises_the_components_own_error(source):
    with pytest.raises(ComponentError) as caught:
        DataFlow((source, collect)).run()
    assert caught.value.component == source.__name__
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize("source", SOURCES, ids=lambda f: f.__name__)
def test_dead_letters_are_kept_with_where_they_came_from(source):
    result = DataFlow((source, collect), on_error="dead_letter").run()
    assert result["collect"] == GOOD
    letters = result.dead_letters
    assert [d["position"] for d in letters] == [
        {"file": "in.jsonl", "line": 2}, {"file": "in.jsonl", "line": 4},
        {"file": "in.jsonl", "line": 6}]
    assert [d["record"] for d in letters] == ["oops", '{"n": 3, broken', "[5]"]
    assert {d["component"] for d in letters} == {source.__name__}
    assert {d["input"] for d in letters} == {"in.jsonl"}
    assert letters[0]["error"].startswith("Expecting value")


def test_the_dead_letter_file_is_written_at_the_end_in_definition_order(tmp_path):
    path = tmp_path / "bad" / "letters.jsonl"
    flow = DataFlow(((gen_source, step(agen_source, name="second")), collect),
                    dead_letter=path)  # a path alone makes dead_letter the default
    result = flow.run()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["component"] for d in lines] == ["gen_source"] * 3 + ["second"] * 3
    assert result.dead_letters == []  # on disk, not in memory
    assert [p.name for p in path.parent.iterdir()] == ["letters.jsonl"]  # no temporary file
    DataFlow((lambda: [{"n": 1}], collect), dead_letter=path).run()
    assert path.read_text() == ""  # the file describes the last run


def test_a_count_budget_fails_the_run_at_the_record_past_it():
    with pytest.raises(ComponentError) as caught:
        DataFlow((gen_source, collect), on_error="skip", max_errors=2).run()
    error = caught.value.__cause__
    assert isinstance(error, TooManyBadRecords)
    assert error.rejected == 3 and error.limit == 2
    assert "in.jsonl line 2" in str(error)  # the first bad record, for the diagnosis
    assert rejected(DataFlow((gen_source, collect), on_error="skip", max_errors=3).run())[
        "gen_source"] == 3


@pytest.mark.parametrize("source", SOURCES, ids=lambda f: f.__name__)
def test_a_fraction_budget_is_of_the_records_read(source):
    # 3 bad of 6 lines read: 0.5 holds, 0.4 does not
    assert DataFlow((source, collect), on_error="skip", max_errors=0.5).run()["collect"] == GOOD
    with pytest.raises(ComponentError, match=r"max_errors=0.4 \(40% of the 6 records it read\)"):
        DataFlow((source, collect), on_error="skip", max_errors=0.4).run()


def test_per_component_settings_override_the_flow():
    flow = DataFlow((step(gen_source, on_error="skip"), collect), max_errors=5)
    assert rejected(flow.run())["gen_source"] == 3
    with pytest.raises(ComponentError):
        DataFlow((step(gen_source, max_errors=1), collect), on_error="skip").run()


def test_a_message_under_fail_is_a_bad_record_error_naming_the_place():
    def src():
        reject({"id": 7}, "amount is not a number", position=17, input="orders")
        return []

    with pytest.raises(ComponentError) as caught:
        DataFlow((src, collect)).run()
    error = caught.value.__cause__
    assert isinstance(error, BadRecordError)
    assert str(error) == "input 'orders' record 17: amount is not a number"
    assert error.position == {"record": 17}


def test_outside_a_run_reject_raises_as_under_fail():
    with pytest.raises(ValueError, match="x"):
        reject("line", ValueError("x"))
    assert current_policy() == "fail"


def test_a_retry_starts_the_count_again():
    calls = []

    def flaky():
        calls.append(1)
        reject("bad", "bad line", position=1)
        if len(calls) == 1:
            raise ConnectionError("dropped")
        return [{"n": 1}]

    result = DataFlow((step(flaky, retries=1, on_error="dead_letter"), collect)).run()
    assert len(calls) == 2
    assert rejected(result)["flaky"] == 1 and len(result.dead_letters) == 1


def test_a_budget_failure_is_not_retried():
    calls = []

    def src():
        calls.append(1)
        for _ in range(3):
            reject("bad", "bad line")
        return []

    with pytest.raises(ComponentError):
        DataFlow((step(src, retries=3), collect), on_error="skip", max_errors=1).run()
    assert len(calls) == 1


def flaky_stream(calls: list[int], sync: bool) -> Any:
    """A stream that rejects a record, then drops its connection before its first item on
    the first attempt (the open/connect phase, which is retried)."""

    def opening() -> None:
        calls.append(1)
        reject("bad", "bad line", position=1)
        if len(calls) == 1:
            raise ConnectionError("dropped before the first item")

    def gen() -> Iterator[list[dict[str, Any]]]:
        opening()
        yield [{"n": 1}]

    async def agen() -> AsyncIterator[list[dict[str, Any]]]:
        opening()
        yield [{"n": 1}]

    return gen if sync else agen


@pytest.mark.parametrize("sync", [True, False], ids=["generator", "async-generator"])
def test_a_stream_retried_before_its_first_item_starts_its_count_again(sync):
    calls: list[int] = []
    stream = step(flaky_stream(calls, sync), name="stream", retries=1, on_error="dead_letter")
    result = DataFlow((stream, collect)).run()
    assert len(calls) == 2 and result["collect"] == [{"n": 1}]
    assert rejected(result)["stream"] == 1, "the first attempt's bad record is forgotten"
    assert len(result.dead_letters) == 1


@pytest.mark.parametrize("sync", [True, False], ids=["generator", "async-generator"])
def test_a_stream_past_its_budget_before_its_first_item_is_not_retried(sync):
    calls: list[int] = []
    stream = step(flaky_stream(calls, sync), name="stream", retries=3, on_error="skip",
                  max_errors=0)
    with pytest.raises(ComponentError) as caught:
        DataFlow((stream, collect)).run()
    assert isinstance(caught.value.__cause__, TooManyBadRecords)
    assert len(calls) == 1


def rejects_every_third(upstream: dict[str, Any]) -> list[dict[str, Any]]:
    """A transform that cannot take every third record it reads (from a list or a stream)."""
    kept = []
    for number, record in enumerate(collect(upstream), start=1):
        if number % 3 == 0:
            reject(record, "not divisible", position=number)
        else:
            kept.append(record)
    return kept


def ten_rows() -> list[dict[str, Any]]:
    return [{"n": i} for i in range(10)]


def ten_streamed() -> Iterator[list[dict[str, Any]]]:
    for start in (0, 4, 8):
        yield [{"n": i} for i in range(start, min(start + 4, 10))]


@pytest.mark.parametrize("source", [ten_rows, ten_streamed], ids=["list", "stream"])
def test_a_fraction_budget_of_a_reader_is_of_its_records_in(source):
    # 3 bad of the 10 records it read (records_in, as the run counts them): 0.3 holds,
    # 0.25 does not
    result = DataFlow((source, rejects_every_third), on_error="skip", max_errors=0.3).run()
    counts = result.records["rejects_every_third"]
    assert (counts.records_in, counts.records_out, counts.records_rejected) == (10, 7, 3)
    with pytest.raises(ComponentError, match=r"0.25 \(25% of the 10 records it read\)"):
        DataFlow((source, rejects_every_third), on_error="skip", max_errors=0.25).run()


def test_secrets_never_reach_the_dead_letters():
    def src(url: str):
        reject({"user": "ada", "password": "hunter2", "dsn": url, "api_key": "k-123"},
               f"cannot load via {url}", position=1)
        reject('{"token": "t0ps3cret", broken', "bad JSON", position=2)
        return []

    flow = DataFlow((step(src, options={"url": "postgresql://app:s3cr3t@db/orders"}), collect),
                    on_error="dead_letter")
    text = json.dumps(flow.run().dead_letters)
    for secret in ("hunter2", "s3cr3t", "k-123", "t0ps3cret"):
        assert secret not in text
    assert '"user": "ada"' in text and "postgresql://app:***@db/orders" in text


def test_the_policy_is_validated_with_a_did_you_mean():
    with pytest.raises(FlowDefinitionError, match=r"on_error must be one of .*did you mean 'skip'"):
        DataFlow((gen_source, collect), on_error="skp")
    for bad in (-1, 1.5, "many", True):
        with pytest.raises(FlowDefinitionError, match="max_errors must be a count"):
            DataFlow((gen_source, collect), max_errors=bad)
    with pytest.raises(FlowDefinitionError, match=r"component 'gen_source'.*on_error"):
        DataFlow((step(gen_source, on_error="drop"), collect))


def test_current_policy_tells_a_connector_which_path_to_take():
    seen = {}

    def src():
        seen["policy"] = current_policy()
        return []

    DataFlow((step(src, on_error="dead_letter"), collect)).run()
    assert seen == {"policy": "dead_letter"}


# warnings --------------------------------------------------------------------------------------

def warns(upstream: dict[str, Any]) -> list[dict[str, Any]]:
    warn("no record has the field 'amout'", field="amout")
    return collect(upstream)


def test_a_warning_is_kept_and_strict_makes_it_an_error():
    result = DataFlow((sync_source, warns), on_error="skip").run()
    assert result.warnings == [{"component": "warns", "message":
                                "no record has the field 'amout'", "field": "amout"}]
    with pytest.raises(ComponentError) as caught:
        DataFlow((sync_source, warns), on_error="skip", strict=True).run()
    assert isinstance(caught.value.__cause__, DataWarningError)


def test_outside_a_run_warn_is_a_python_warning():
    from adf_core.rejects import DataWarning

    with pytest.warns(DataWarning, match="careful"):
        warn("careful")


def test_split_groups_that_nobody_reads_are_a_warning():
    from adf_plugins.transforms import split

    def orders() -> list[dict[str, Any]]:
        return [{"region": r, "n": i} for i, r in enumerate(["EU", "US", "EU", "APAC"])]

    def eu_only(EU: list[dict[str, Any]]) -> int:
        return len(EU)

    flow = DataFlow((orders, step(split, options={"by": "region"}), eu_only))
    result = flow.run()
    assert result["eu_only"] == 2
    [warning] = result.warnings
    assert warning["component"] == "split" and warning["groups"] == ["US", "APAC"]
    assert "'US' (1 records), 'APAC' (1 records)" in warning["message"]
    with pytest.raises(ComponentError) as caught:
        DataFlow((orders, step(split, options={"by": "region"}), eu_only), strict=True).run()
    assert caught.value.component == "split"
    # a reader of the whole context or of upstream may read every group: nothing to report
    assert DataFlow((orders, step(split, options={"by": "region"}), collect)).run().warnings == []
