"""Figure specs built from mart rows: hand-worked values, and each spec is valid plotly."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import pytest

from dealerfunnel.reports.figures import (
    NOT_FINAL_COLOR,
    Series,
    Threshold,
    channel_cost_figure,
    count_bars_figure,
    cycle_figure,
    funnel_figure,
    is_final,
    lost_reasons_figure,
    period_comparison_figure,
    rank_dealers,
    ranking_figure,
    rate_bars_figure,
    showroom_figure,
    trend_figure,
)


def valid(spec: dict) -> dict:
    go.Figure(spec)  # raises on an unknown property or a bad value
    return spec


COHORT = {
    "period_start": date(2026, 9, 1),
    "leads_potential": 20,
    "leads_interested": 8,
    "leads_needs_defined": 4,
    "leads_decision": 2,
    "leads_won": 1,
    "rate_potential_to_interested": 0.4,
    "rate_interested_to_needs_defined": 0.5,
    "rate_needs_defined_to_decision": 0.5,
    "rate_decision_to_won": 0.5,
    "rate_lead_to_won": 0.05,
    "is_period_complete": True,
    "period_complete": True,
    "is_mature": False,
    "is_potential_to_interested_mature": True,
    "is_interested_to_needs_defined_mature": True,
    "is_needs_defined_to_decision_mature": True,
    "is_decision_to_won_mature": False,
}


def test_is_final():
    assert is_final(COHORT, "rate_potential_to_interested")
    assert not is_final(COHORT, "rate_decision_to_won")
    # no per-rate flag: the cohort's is_mature decides
    assert not is_final(COHORT, "rate_lead_to_won")
    # no flag at all: final once the period is complete
    assert is_final({"period_complete": True}, "rate_lead_to_won")
    assert not is_final({"period_complete": False}, "rate_lead_to_won")


def test_funnel_counts_rates_and_maturity():
    spec = valid(funnel_figure(COHORT, "September"))
    trace = spec["data"][0]
    assert trace["x"] == [20, 8, 4, 2, 1]
    assert trace["y"] == ["potential", "interested", "needs defined", "decision", "won"]
    assert trace["text"][0] == "20"
    assert trace["text"][1] == "8 (40.0% of previous)"
    assert trace["text"][4] == "1 (50.0% of previous) · not mature yet"
    assert trace["marker"]["color"][4] == NOT_FINAL_COLOR
    assert trace["marker"]["color"][3] != NOT_FINAL_COLOR


def test_funnel_without_rates_or_maturity_shows_counts():
    row = {"leads_potential": 3, "leads_interested": 1, "leads_won": None, "period_complete": True}
    trace = valid(funnel_figure(row, "t"))["data"][0]
    assert trace["x"] == [3, 1, 0, 0, 0]
    assert trace["text"] == ["3", "1", "0", "0", "0"]
    assert NOT_FINAL_COLOR not in trace["marker"]["color"]


def test_trend_hollow_points_and_threshold_line():
    rows = [
        {
            "period_start": date(2026, 9, 21),
            "rate_potential_to_interested": 0.5,
            "period_complete": True,
            "is_potential_to_interested_mature": True,
        },
        {
            "period_start": date(2026, 9, 28),
            "rate_potential_to_interested": 0.3,
            "period_complete": True,
            "is_potential_to_interested_mature": False,
        },
        {
            "period_start": date(2026, 9, 14),
            "rate_potential_to_interested": None,
            "period_complete": True,
        },
    ]
    spec = valid(
        trend_figure(
            [Series("p → i", "rate_potential_to_interested", rows)],
            [Threshold("alert below 35%", 0.35)],
            "weekly",
        )
    )
    line, threshold = spec["data"]
    assert line["x"] == ["2026-09-14", "2026-09-21", "2026-09-28"]
    assert line["y"] == [None, 0.5, 0.3]
    assert line["marker"]["symbol"] == ["circle", "circle", "circle-open"]
    assert threshold["x"] == ["2026-09-14", "2026-09-28"]
    assert threshold["y"] == [0.35, 0.35]
    assert threshold["line"]["dash"] == "dash"
    assert spec["layout"]["yaxis"]["tickformat"] == ".0%"


def test_trend_without_points_draws_no_threshold():
    spec = valid(trend_figure([], [Threshold("t", 0.35)], "empty"))
    assert spec["data"] == []


def test_cycle_histogram_and_box():
    spec = valid(cycle_figure([12.5, 3.5], "cycle"))
    assert spec["data"][0]["type"] == "histogram"
    assert spec["data"][0]["x"] == [12.5, 3.5]
    assert spec["data"][1]["type"] == "box"


def test_rate_bars_take_the_published_rates():
    rows = [
        {"consultant": "Li Na", "first_contact_sla_rate": 0.5, "assignment_sla_rate": 1.0},
        {"consultant": "Wang Li", "first_contact_sla_rate": None, "assignment_sla_rate": 0.0},
    ]
    spec = valid(
        rate_bars_figure(
            rows, "consultant", {"assignment_sla_rate": "a", "first_contact_sla_rate": "f"}, "t"
        )
    )
    assert [t["name"] for t in spec["data"]] == ["a", "f"]
    assert spec["data"][0]["x"] == ["Li Na", "Wang Li"]
    assert spec["data"][0]["y"] == [1.0, 0.0]
    assert spec["data"][1]["y"] == [0.5, None]


def test_count_bars_due_and_met():
    rows = [{"dealer_code": "SH001", "assignments_due": 4, "assignments_met": 1}]
    spec = valid(
        count_bars_figure(
            rows, "dealer_code", [("assignment", "assignments_due", "assignments_met")], "t"
        )
    )
    due, met = spec["data"]
    assert (due["name"], due["y"]) == ("assignment: due", [4])
    assert (met["name"], met["y"]) == ("assignment: met", [1])
    assert due["offsetgroup"] == met["offsetgroup"]


def test_channel_cost_only_where_spend_is_reported():
    rows = [
        {
            "dealer_code": "SH001",
            "channel": "meta_lead_ads",
            "campaign": "autumn",
            "month_start": date(2026, 9, 1),
            "spend": 300.0,
            "leads": 30,
            "leads_won": 2,
            "cost_per_lead": 10.0,
            "cost_per_won": 150.0,
            "currency": "CNY",
        },
        {
            "dealer_code": "SH001",
            "channel": "walk_in",
            "campaign": "(none)",
            "month_start": date(2026, 9, 1),
            "spend": None,
            "leads": 5,
            "leads_won": 1,
            "cost_per_lead": None,
            "cost_per_won": None,
            "currency": None,
        },
    ]
    spec = valid(channel_cost_figure(rows, "t"))
    per_lead, per_won = spec["data"]
    assert per_lead["x"] == ["meta_lead_ads / autumn"]
    assert per_lead["y"] == [10.0] and per_won["y"] == [150.0]
    assert per_lead["name"] == "cost per lead (CNY)"
    assert channel_cost_figure(rows[1:], "t") is None
    # several months: the month is part of the label; the group view names the dealer
    second = {**rows[0], "month_start": date(2026, 8, 1)}
    spec = channel_cost_figure([rows[0], second], "t", with_dealer=True)
    assert spec["data"][0]["x"] == [
        "SH001 · meta_lead_ads / autumn · 2026-09",
        "SH001 · meta_lead_ads / autumn · 2026-08",
    ]


def test_channel_cost_one_panel_per_currency_never_summed():
    base = {
        "dealer_code": "SH001",
        "month_start": date(2026, 9, 1),
        "leads": 10,
        "leads_won": 1,
    }
    # fmt: off
    rows = [
        {**base, "channel": "meta_lead_ads", "campaign": "autumn", "spend": 300.0,
         "cost_per_lead": 30.0, "cost_per_won": 300.0, "currency": "CNY"},
        {**base, "channel": "google_ads", "campaign": "search", "spend": 50.0,
         "cost_per_lead": 5.0, "cost_per_won": 50.0, "currency": "USD"},
        {**base, "channel": "meta_lead_ads", "campaign": "spring", "spend": 120.0,
         "cost_per_lead": 12.0, "cost_per_won": None, "currency": "CNY"},
    ]
    # fmt: on
    spec = valid(channel_cost_figure(rows, "t"))
    panels = {}
    for trace in spec["data"]:
        panels.setdefault((trace["xaxis"], trace["yaxis"]), []).append(trace)
    assert sorted(panels) == [("x", "y"), ("x2", "y2")]
    cny, usd = panels[("x", "y")], panels[("x2", "y2")]
    assert [t["name"] for t in cny] == ["cost per lead (CNY)", "cost per won (CNY)"]
    assert [t["name"] for t in usd] == ["cost per lead (USD)", "cost per won (USD)"]
    # each panel holds only its currency's campaigns, values as published (nothing added)
    assert cny[0]["x"] == ["meta_lead_ads / autumn", "meta_lead_ads / spring"]
    assert cny[0]["y"] == [30.0, 12.0] and cny[1]["y"] == [300.0, None]
    assert usd[0]["x"] == ["google_ads / search"] and usd[0]["y"] == [5.0]
    layout = spec["layout"]
    assert layout["yaxis"]["title"]["text"] == "CNY" and layout["yaxis2"]["title"]["text"] == "USD"
    # the panels do not overlap
    top, bottom = layout["yaxis"]["domain"], layout["yaxis2"]["domain"]
    assert bottom[1] < top[0]


def test_rank_dealers_on_rate_then_volume():
    rows = [
        {"dealer_code": "A", "rate_lead_to_won": 0.10, "leads_potential": 50},
        {"dealer_code": "B", "rate_lead_to_won": None, "leads_potential": 80},
        {"dealer_code": "C", "rate_lead_to_won": 0.20, "leads_potential": 10},
        {"dealer_code": "D", "rate_lead_to_won": 0.10, "leads_potential": 90},
    ]
    ranked = rank_dealers(rows, "rate_lead_to_won", "leads_potential")
    assert [(r["rank"], r["dealer_code"]) for r in ranked] == [
        (1, "C"),
        (2, "D"),
        (3, "A"),
        (4, "B"),
    ]
    spec = valid(ranking_figure(ranked, "rate_lead_to_won", "leads_potential", "t"))
    bar = spec["data"][0]
    assert bar["y"][-1] == "#1 C"  # best on top
    assert bar["x"][-1] == 0.20
    assert bar["text"][-1] == "20.0% of 10 leads"


def test_ranking_by_volume_when_no_rate():
    ranked = rank_dealers(
        [{"dealer_code": "A", "leads_won": 1}, {"dealer_code": "B", "leads_won": 3}],
        "leads_won",
        "leads_potential",
    )
    spec = valid(ranking_figure(ranked, None, "leads_won", "t"))
    assert spec["data"][0]["x"] == [1, 3]
    assert spec["data"][0]["y"] == ["#2 A", "#1 B"]


@pytest.mark.parametrize("value", [None, 0.0, 0.3456])
def test_percent(value):
    from dealerfunnel.reports.figures import percent

    assert percent(value) == {None: "–", 0.0: "0.0%", 0.3456: "34.6%"}[value]


# -- targets and the dealer ranking ---------------------------------------------------------------


def test_attainment_figure_bars_per_metric_and_the_target_line():
    from dealerfunnel.reports.figures import attainment_figure

    rows = [
        {"who": "dealer total", "metric": "leads", "target": 4, "actual": 3, "attainment": 0.75,
         "period_complete": True},
        {"who": "dealer total", "metric": "amount", "target": 300000, "actual": 350000,
         "attainment": 1.1667, "period_complete": False},
        {"who": "Li Na", "metric": "won", "target": 2, "actual": 1, "attainment": 0.5,
         "period_complete": True},
    ]  # fmt: skip
    spec = valid(attainment_figure(rows, "who", "Targets"))
    bars = {t["name"]: t for t in spec["data"] if t["type"] == "bar"}
    assert list(bars) == ["leads", "won", "amount"]  # the contract's metric order
    assert bars["leads"]["x"] == ["dealer total", "Li Na"]
    assert bars["leads"]["y"] == [0.75, None]
    assert bars["leads"]["text"] == ["3 of 4", ""]
    assert bars["amount"]["text"][0] == "350,000 of 300,000"
    assert bars["amount"]["marker"]["opacity"][0] == 0.45  # the period is still running
    assert bars["won"]["y"] == [None, 0.5]
    (line,) = [t for t in spec["data"] if t["type"] == "scatter"]
    assert line["y"] == [1, 1]


def test_ranking_heatmap_puts_the_best_dealer_on_top():
    from dealerfunnel.reports.figures import ranking_heatmap_figure

    rows = [
        {"dealer_code": "A", "metric": "leads", "metric_value": 9, "dealer_rank": 2},
        {"dealer_code": "B", "metric": "leads", "metric_value": 12, "dealer_rank": 1},
        {"dealer_code": "A", "metric": "won_in_period", "metric_value": 3, "dealer_rank": 1},
        {"dealer_code": "B", "metric": "won_in_period", "metric_value": 1, "dealer_rank": 2},
        {"dealer_code": "B", "metric": "satisfaction_score", "metric_value": 8.5,
         "dealer_rank": 1},
        {"dealer_code": "(group)", "metric": "leads", "metric_value": 21, "dealer_rank": None,
         "is_group_total": True},
    ]  # fmt: skip
    spec = valid(ranking_heatmap_figure(rows, {"A": "Alpha"}, "Ranking"))
    (trace,) = spec["data"]
    # rank sums: A 2 + 1 + 3 (no satisfaction: after the 2 dealers) = 6, B 1 + 2 + 1 = 4: B on top
    assert trace["y"] == ["Alpha", "B"]
    assert trace["x"] == ["leads", "won", "satisfaction (0-10)"]
    assert trace["z"] == [[2, 1, None], [1, 2, 1]]
    assert trace["text"][1] == ["12 (#1)", "1 (#2)", "8.50 (#1)"]


def test_change_figure():
    from dealerfunnel.reports.figures import change_figure

    rows = [
        {"metric": "won_in_period", "change_vs_previous_period": -0.4,
         "change_vs_previous_year": None},
        {"metric": "leads", "change_vs_previous_period": 0.5, "change_vs_previous_year": 0.25},
    ]  # fmt: skip
    spec = valid(change_figure(rows, "month", "Change"))
    previous, year = spec["data"]
    assert previous["name"] == "vs the previous month"
    assert previous["x"] == ["leads", "won"]  # headline order
    assert (previous["y"], year["y"]) == ([0.5, -0.4], [0.25, None])


def test_lost_reasons_stacked_by_stage_with_unmapped_always_listed():
    rows = [
        {"lost_reason": "price", "leads_lost": 3, "share": 0.75, "lost_from_potential": 1,
         "lost_from_interested": 2, "lost_from_needs_defined": 0, "lost_from_decision": 0},
        {"lost_reason": "other", "leads_lost": 1, "share": 0.25, "lost_from_potential": 0,
         "lost_from_interested": 0, "lost_from_needs_defined": 0, "lost_from_decision": 1},
    ]  # fmt: skip
    spec = valid(lost_reasons_figure(rows, "t"))
    potential, interested, needs, decision = spec["data"]
    # bottom to top: unknown (none), other (unmapped), then price with the most losses on top
    assert potential["y"] == ["unknown", "other (unmapped)", "price"]
    assert potential["x"] == [0, 0, 1] and interested["x"] == [0, 0, 2]
    assert decision["x"] == [0, 1, 0] and needs["x"] == [0, 0, 0]
    assert spec["layout"]["barmode"] == "stack"
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert texts == ["0", "1 (25.0%)", "3 (75.0%)"]
    # without a published share, the count only
    no_share = lost_reasons_figure([{**rows[0], "share": None}], "t")
    assert [a["text"] for a in no_share["layout"]["annotations"]][-1] == "3"


def test_showroom_counts_and_the_marts_rates_on_a_second_axis():
    rows = [
        {"consultant": "Li Na", "appointments": 3, "appointments_shown": 2,
         "appointments_no_show": 1, "showroom_visits": 1, "test_drives": 2,
         "test_drive_leads_won": 1, "show_up_rate": 0.6667, "rate_test_drive_to_won": 0.5,
         "period_complete": True, "is_mature": False},
        {"consultant": "Wang Li", "appointments": 1, "appointments_shown": 0,
         "appointments_no_show": 0, "showroom_visits": 0, "test_drives": 0,
         "test_drive_leads_won": 0, "show_up_rate": None, "rate_test_drive_to_won": None,
         "period_complete": False, "is_mature": False},
    ]  # fmt: skip
    spec = valid(showroom_figure(rows, "consultant", "t"))
    bars = [t for t in spec["data"] if t["type"] == "bar"]
    assert [b["name"] for b in bars] == [
        "appointments", "appointments shown", "no-shows", "showroom visits", "test drives",
        "test-driven leads won",
    ]  # fmt: skip
    assert [b["y"] for b in bars] == [[3, 1], [2, 0], [1, 0], [1, 0], [2, 0], [1, 0]]
    show_up, to_won = (t for t in spec["data"] if t["type"] == "scatter")
    assert show_up["y"] == [0.6667, None] and show_up["yaxis"] == "y2"
    # show-up is final once the week is over; test drive -> won also needs a mature cohort
    assert show_up["marker"]["symbol"] == ["diamond", "diamond-open"]
    assert to_won["marker"]["symbol"] == ["diamond-open", "diamond-open"]
    assert spec["layout"]["yaxis2"]["overlaying"] == "y"
    # summed rows carry no rate: bars only, no second axis
    summed = [{k: v for k, v in rows[0].items() if "rate" not in k}]
    spec = valid(showroom_figure(summed, "consultant", "t"))
    assert {t["type"] for t in spec["data"]} == {"bar"} and "yaxis2" not in spec["layout"]


def test_period_comparison_bars_pale_where_not_mature():
    mature = {"rate_lead_to_won": 0.25, "period_complete": True, "is_mature": True}
    young = {"rate_lead_to_won": 0.5, "period_complete": True, "is_mature": False}
    spec = valid(
        period_comparison_figure(
            ["A", "B"],
            {"previous": [mature, None], "this": [young, mature]},
            "rate_lead_to_won",
            "t",
        )
    )
    previous, this = spec["data"]
    assert previous["y"] == [0.25, None] and this["y"] == [0.5, 0.25]
    assert previous["marker"]["opacity"] == [1.0, 0.4] and this["marker"]["opacity"] == [0.4, 1.0]
    assert previous["text"] == ["final", "no leads"]
    assert this["text"] == ["not mature yet", "final"]
