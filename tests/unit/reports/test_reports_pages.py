"""Pages: file names, alert thresholds, safe SQL and autoescaped HTML (no database)."""

from __future__ import annotations

import re
from datetime import date

from psycopg import sql

from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.reports import marts
from dealerfunnel.reports.pages import Block, Page, Rules, Section, environment, page_filename


def test_page_filenames():
    assert page_filename("SH001") == "SH001.html"
    for unsafe in ("../x", "a b", "index", "Group", "", "<b>"):
        name = page_filename(unsafe)
        assert re.fullmatch(r"dealer-[0-9a-f]{12}\.html", name), unsafe


def test_thresholds_come_from_the_alert_rules():
    rules = Rules(
        tuple(
            parse_rules(
                {
                    "rules": [
                        {
                            "rule": "p2i_low",
                            "metric": "rate_potential_to_interested",
                            "direction": "below",
                            "threshold": 0.35,
                            "overrides": {"SH001": {"threshold": 0.3}},
                        },
                        {"rule": "silent", "type": "source_freshness", "threshold": 48},
                    ]
                }
            )
        )
    )
    [group] = rules.thresholds("week", None, marts.RATES)
    assert group.value == 0.35
    assert group.label == "alert p2i_low: potential → interested below 35%"
    [dealer] = rules.thresholds("week", "SH001", marts.RATES)
    assert dealer.value == 0.3
    assert rules.thresholds("month", None, marts.RATES) == []  # the rule judges weeks
    assert rules.metrics() == ["rate_potential_to_interested"]
    assert Rules(()).metrics() == ["rate_potential_to_interested"]


def test_catalog():
    catalog = marts.Catalog({"mart_funnel_conversion": frozenset({"dealer_code", "leads_won"})})
    assert catalog.has("mart_funnel_conversion", "dealer_code")
    assert not catalog.has("mart_funnel_conversion", "is_mature")
    assert not catalog.has("mart_funnel_monitoring")
    assert catalog.present("mart_funnel_conversion", ["is_mature", "leads_won"]) == ["leads_won"]


def test_where_quotes_identifiers_and_binds_values():
    where, params = marts._where(
        {"dealer_code": "x'; drop table y; --"}, ("week_start", date(2026, 9, 1), date(2026, 10, 1))
    )
    text = where.as_string(None)
    assert text == ' where "dealer_code" = %s and "week_start" >= %s and "week_start" < %s'
    assert params == ["x'; drop table y; --", date(2026, 9, 1), date(2026, 10, 1)]
    assert isinstance(marts._table("mart_x"), sql.Composable)
    assert marts._table('we"ird').as_string(None) == '"marts"."we""ird"'


def test_pages_escape_every_value():
    evil = '<script>alert("x")</script>'
    figure = {"data": [{"type": "bar", "x": [evil], "y": [1]}], "layout": {}}
    page = Page(
        "SH001.html",
        evil,
        evil,
        [
            Section(
                "week",
                "Latest complete week",
                evil,
                evil,
                [
                    Block(evil, figure, evil),
                    Block(
                        evil,
                        note=evil,
                        table={"columns": [evil], "rows": [[evil, {"text": evil, "href": evil}]]},
                    ),
                ],
            )
        ],
    )
    html = environment().get_template("report.html.j2").render(page=page, plotly_js="plotly.min.js")
    assert evil not in html
    assert "&lt;script&gt;alert(" in html
    # the figure travels in an attribute, quotes escaped: no way out of it
    attribute = re.search(r'data-figure="([^"]*)"', html).group(1)
    assert "<" not in attribute and '"' not in attribute
    assert html.count('<script src="plotly.min.js"></script>') == 1


def test_index_escapes_and_links():
    page = Page("group.html", "Dealer group", "", [Section("week", "Latest complete week")])
    html = (
        environment()
        .get_template("index.html.j2")
        .render(
            generated_at="now",
            dealers=[
                {
                    "dealer_code": "A&B",
                    "dealer_name": "<i>A</i>",
                    "region": "r",
                    "brand": "b",
                    "timezone": "UTC",
                    "href": page_filename("A&B"),
                }
            ],
            group=page,
            missing=False,
        )
    )
    assert "&lt;i&gt;A&lt;/i&gt;" in html and "A&amp;B" in html
    assert "no complete period yet" in html


def test_the_report_page_exposures_list_every_mart_the_pages_read():
    """dbt docs shows the report pages downstream of each mart they read (exposures.yml)."""
    import inspect
    from pathlib import Path

    import yaml

    from dealerfunnel.reports import pages

    root = Path(__file__).resolve().parents[3]
    exposures = yaml.safe_load(
        (root / "dbt_project/models/marts/exposures.yml").read_text(encoding="utf-8")
    )["exposures"]
    listed = {
        e["name"]: {ref.split("'")[1] for ref in e["depends_on"]}
        for e in exposures
        if e["name"] in ("dealer_report_page", "group_report_page")
    }
    source = inspect.getsource(pages)
    read = {
        getattr(marts, name)
        for name in re.findall(r"\bmarts\.([A-Z_]+)\b", source)
        if isinstance(getattr(marts, name, None), str)
        and getattr(marts, name).startswith(("mart_", "fct_", "dim_"))
    }
    assert {"mart_lost_reasons", "mart_showroom_activity"} <= read
    assert read <= listed["dealer_report_page"] | listed["group_report_page"]
    for name in ("mart_lost_reasons", "mart_showroom_activity", "mart_channel_roi"):
        assert name in listed["dealer_report_page"] and name in listed["group_report_page"]
