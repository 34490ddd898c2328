"""Shared connector scaffolding: the extract context, stage checks, daily windows, paging."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dealerfunnel.settings import ConfigError
from dealerfunnel.sources import meta
from dealerfunnel.sources.config import SourceConnection, load_source_settings
from dealerfunnel.sources.loader import Page, RecordInvalid
from dealerfunnel.sources.streams import (
    ApiStream,
    DailyWindowStream,
    ExtractContext,
    StageCheck,
    campaign_day,
    follow_cursor,
)

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
ACCOUNT = {"ad_account_id": "act_1", "page_id": "2"}


def _ctx(options=None, extra=None, account=ACCOUNT):
    data = {
        "meta": {
            "conn_id": "meta_ads",
            "api_version": "v23.0",
            "options": options or {},
            "dealers": {"SH001": account},
        }
    }
    settings = load_source_settings("meta", meta.Account, meta.Options, data)
    conn = SourceConnection("meta_ads", "http://x", "tok", extra=extra or {})
    return ExtractContext(settings, conn, "SH001", account, None, lambda: NOW)


def test_context_start_is_the_backfill_window_or_the_pinned_day():
    assert _ctx().start_date() == date(2026, 9, 2)  # 90 days before now
    assert _ctx({"backfill_days": 30}).start_datetime() == datetime(2026, 11, 1, tzinfo=UTC)
    assert _ctx({"start_date": "2026-05-04"}).start_date() == date(2026, 5, 4)
    assert _ctx(extra={"start_date": "2026-05-04"}).start_date() == date(2026, 5, 4)
    assert _ctx().today() == date(2026, 12, 1)


def test_context_version_dealer_value_and_common_arguments():
    ctx = _ctx(extra={"api_version": "v24.0"})
    assert ctx.version == "v24.0"
    assert _ctx().version == "v23.0"
    assert ctx.dealer_value == "SH001"
    assert ctx.common("ad_account_id") == {
        "client": None,
        "dealer_code": "SH001",
        "account_id": "act_1",
        "version": "v24.0",
    }


def test_stage_check_quarantines_unknown_values_like_a_dealer_export_row():
    check = StageCheck("hubspot", {"closedwon": "won"}, lambda r: [r.get("stage")])
    check.check({"stage": "closedwon"})
    check.check({"stage": " ClosedWon "})  # trimmed, case-insensitive
    check.check({"stage": "decision"})  # a canonical code is accepted as is
    check.check({})  # absent: nothing to check
    with pytest.raises(RecordInvalid, match=r"^unknown stage 'mystery' for source hubspot$"):
        check.check({"stage": "mystery"})
    with pytest.raises(RecordInvalid, match="empty stage"):
        check.check({"stage": " "})


def test_stage_check_uses_the_project_stage_mapping():
    check = StageCheck.for_source("salesforce", lambda r: [r.get("StageName")])
    check.check({"StageName": "Closed Won"})
    with pytest.raises(RecordInvalid, match="unknown stage 'Recycled' for source salesforce"):
        check.check({"StageName": "Recycled"})
    with pytest.raises(ConfigError, match="no vocabulary for source 'meta'"):
        StageCheck.for_source("meta", lambda r: [])


def test_api_stream_checks_stages_only_when_it_has_a_vocabulary():
    plain = ApiStream(client=None, dealer_code="SH001", account_id="a")
    assert plain.state_key == "a"
    plain.check({"stage": "anything"})
    checked = ApiStream(
        client=None,
        dealer_code="SH001",
        account_id="a",
        stages=StageCheck("x", {}, lambda r: [r.get("stage")]),
    )
    with pytest.raises(RecordInvalid, match="unknown stage"):
        checked.check({"stage": "anything"})


def test_campaign_day_key():
    parsed = campaign_day("7", "2026-05-04", id_key="campaign_id", day_key="date_start")
    assert (parsed.record_id, parsed.updated_at) == ("7|2026-05-04", None)
    with pytest.raises(RecordInvalid, match="'campaign_id'"):
        campaign_day(None, "2026-05-04", id_key="campaign_id", day_key="date_start")
    with pytest.raises(RecordInvalid, match="'date_start'"):
        campaign_day("7", "", id_key="campaign_id", day_key="date_start")
    with pytest.raises(RecordInvalid, match="unparseable date_start"):
        campaign_day("7", "May 4", id_key="campaign_id", day_key="date_start")


class _Days(DailyWindowStream):
    source = "test"
    object = "days"

    def window_pages(self, last, run):
        yield Page([run["window"]], {"last_date": run["until"], "run": None})


def test_daily_window_stream_starts_at_start_and_resumes_with_lookback():
    stream = _Days(
        client=None,
        dealer_code="SH001",
        account_id="a",
        start=date(2026, 5, 4),
        today=lambda: date(2026, 5, 10),
        lookback_days=3,
    )
    assert [p.records for p in stream.pages(None)] == [["2026-05-04"]]
    assert [p.records for p in stream.pages({"last_date": "2026-05-09"})] == [["2026-05-06"]]
    # nothing to read: an empty page keeps the last date
    future = _Days(
        client=None, dealer_code="SH001", account_id="a", start=date(2026, 6, 1),
        today=lambda: date(2026, 5, 10),
    )  # fmt: skip
    pages = list(future.pages(None))
    assert [(p.records, p.state) for p in pages] == [([], {"last_date": None, "run": None})]
    assert stream.window_end(date(2026, 5, 4), date(2026, 5, 10)) == date(2026, 5, 10)


def test_follow_cursor_reads_every_page():
    pages = {None: ([1, 2], "b"), "b": ([3], "c"), "c": ([], None)}
    assert list(follow_cursor(lambda cursor: pages[cursor])) == [[1, 2], [3], []]
