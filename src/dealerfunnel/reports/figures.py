"""Plotly figure specs (``{"data": [...], "layout": {...}}``) built from mart rows.

Pure functions: rows in, a JSON-ready dict out (dates as ISO text), drawn by plotly.js in the
page. Rates are taken from the rows as the marts publish them; nothing here divides counts.
A point is *final* when its period is complete and, where the mart says so, its cohort is mature
for that rate; points that are not final are drawn hollow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dealerfunnel.reports.marts import COUNTS, RATE_LABELS, RATES, STAGES, rate_maturity_column

Row = Mapping[str, Any]
Spec = dict[str, Any]

FINAL_COLOR = "#1f77b4"
NOT_FINAL_COLOR = "#aec7e8"
THRESHOLD_COLOR = "#d62728"
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
STAGE_LABELS = {
    "potential": "potential",
    "interested": "interested",
    "needs_defined": "needs defined",
    "decision": "decision",
    "won": "won",
}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}},
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#f7f9fb",
        "legend": {"orientation": "h", "y": -0.2},
    }
    layout.update(extra)
    return layout


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def is_final(row: Row, rate: str | None = None) -> bool:
    """Complete period (``period_complete``) and, where published, a mature cohort for ``rate``
    (``is_<rate>_mature``, else ``is_mature``). A flag that is absent does not count against."""
    if row.get("period_complete") is False:
        return False
    flag = row.get(rate_maturity_column(rate)) if rate else None
    if flag is None:
        flag = row.get("is_mature")
    return flag is not False


def funnel_figure(row: Row, title: str) -> Spec:
    """Cohort counts ``leads_potential`` … ``leads_won`` as a funnel. Each bar after the first
    shows the mart's rate from the previous stage; a stage whose rate is not mature yet is pale
    and says so."""
    labels, values, texts, colors = [], [], [], []
    for index, (stage, column) in enumerate(zip(STAGES, COUNTS, strict=True)):
        count = int(row.get(column) or 0)
        labels.append(STAGE_LABELS[stage])
        values.append(count)
        text = f"{count:,}"
        final = True
        if index:
            rate = RATES[index - 1]
            if row.get(rate) is not None:
                text += f" ({percent(row[rate])} of previous)"
            final = is_final(row, rate)
            if not final:
                text += " · not mature yet"
        texts.append(text)
        colors.append(FINAL_COLOR if final else NOT_FINAL_COLOR)
    trace = {
        "type": "funnel",
        "y": labels,
        "x": values,
        "text": texts,
        "textinfo": "text",
        "textposition": "inside",
        "marker": {"color": colors},
        "hoverinfo": "y+text",
    }
    layout = _layout(title, showlegend=False)
    layout["margin"] = {"l": 110, "r": 20, "t": 60, "b": 30}
    return {"data": [trace], "layout": layout}


TICK_FORMATS = {"week": "%d %b %Y", "month": "%b %Y", "quarter": "%b %Y"}


@dataclass(frozen=True)
class Series:
    """One line of a trend: ``rate`` of ``rows`` (each with ``period_start``)."""

    name: str
    rate: str
    rows: Sequence[Row]


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float


def trend_figure(
    series: Sequence[Series], thresholds: Sequence[Threshold], title: str, grain: str = "week"
) -> Spec:
    """Rates per period, one line per series; hollow markers where a point is not final; each
    threshold a dashed red line across the chart."""
    data: list[dict[str, Any]] = []
    xs: list[str] = []
    for number, line in enumerate(series):
        ordered = sorted(line.rows, key=lambda r: r["period_start"])
        x = [_iso(r["period_start"]) for r in ordered]
        xs.extend(x)
        color = SERIES_COLORS[number % len(SERIES_COLORS)]
        finals = [is_final(r, line.rate) for r in ordered]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": line.name,
                "x": x,
                "y": [r.get(line.rate) for r in ordered],
                "line": {"color": color, "width": 2},
                "marker": {
                    "size": 9,
                    "color": color,
                    "symbol": ["circle" if f else "circle-open" for f in finals],
                    "line": {"width": 2, "color": color},
                },
                "text": ["final" if f else "not final" for f in finals],
                "hovertemplate": "%{x}: %{y:.1%} (%{text})<extra>" + line.name + "</extra>",
                "connectgaps": False,
            }
        )
    if xs:
        span = [min(xs), max(xs)]
        for threshold in thresholds:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": threshold.label,
                    "x": span,
                    "y": [threshold.value, threshold.value],
                    "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 2},
                    "hoverinfo": "name",
                }
            )
    layout = _layout(
        title,
        yaxis={"tickformat": ".0%", "rangemode": "tozero", "title": {"text": "rate"}},
        xaxis={
            "type": "date",
            "title": {"text": f"{grain} starting"},
            "tickvals": sorted(set(xs)),
            "tickformat": TICK_FORMATS.get(grain, "%Y-%m-%d"),
        },
    )
    return {"data": data, "layout": layout}


def cycle_figure(days: Sequence[float], title: str) -> Spec:
    """Histogram of the sales cycle (days from lead to won) with a box above it."""
    values = [float(d) for d in days]
    data = [
        {
            "type": "histogram",
            "x": values,
            "name": "won leads",
            "marker": {"color": FINAL_COLOR},
            "xaxis": "x",
            "yaxis": "y",
            "hovertemplate": "%{x} days: %{y} leads<extra></extra>",
        },
        {
            "type": "box",
            "x": values,
            "name": "spread",
            "boxpoints": False,
            "marker": {"color": FINAL_COLOR},
            "xaxis": "x",
            "yaxis": "y2",
        },
    ]
    layout = _layout(
        title,
        showlegend=False,
        xaxis={"title": {"text": "days from lead to won"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "won leads"}, "domain": [0, 0.78]},
        yaxis2={"domain": [0.82, 1], "showticklabels": False},
        bargap=0.05,
    )
    return {"data": data, "layout": layout}


def rate_bars_figure(
    rows: Sequence[Row], label_key: str, rates: Mapping[str, str], title: str
) -> Spec:
    """Grouped bars: per row (e.g. consultant) one bar per rate column, as published."""
    x = [str(r[label_key]) for r in rows]
    data = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [r.get(column) for r in rows],
            "hovertemplate": "%{x}: %{y:.1%}<extra>" + name + "</extra>",
        }
        for column, name in rates.items()
    ]
    layout = _layout(title, barmode="group", yaxis={"tickformat": ".0%", "range": [0, 1.05]})
    return {"data": data, "layout": layout}


def count_bars_figure(
    rows: Sequence[Row], label_key: str, pairs: Sequence[tuple[str, str, str]], title: str
) -> Spec:
    """Grouped bars of due and met counts: ``pairs`` are (name, due column, met column)."""
    x = [str(r[label_key]) for r in rows]
    data: list[dict[str, Any]] = []
    for number, (name, due, met) in enumerate(pairs):
        color = SERIES_COLORS[number % len(SERIES_COLORS)]
        data.append(
            {
                "type": "bar",
                "name": f"{name}: due",
                "x": x,
                "y": [int(r.get(due) or 0) for r in rows],
                "offsetgroup": name,
                "marker": {"color": color, "opacity": 0.35},
            }
        )
        data.append(
            {
                "type": "bar",
                "name": f"{name}: met",
                "x": x,
                "y": [int(r.get(met) or 0) for r in rows],
                "offsetgroup": name,
                "marker": {"color": color},
            }
        )
    return {"data": data, "layout": _layout(title, barmode="group", yaxis={"title": "checks"})}


def cost_label(row: Row, with_month: bool, with_dealer: bool = False) -> str:
    parts = [str(row["dealer_code"])] if with_dealer else []
    parts.append(f"{row['channel']} / {row['campaign']}")
    if with_month:
        parts.append(_iso(row["month_start"])[:7])
    return " · ".join(parts)


NO_CURRENCY = "currency not given"


def channel_cost_figure(rows: Sequence[Row], title: str, with_dealer: bool = False) -> Spec | None:
    """Cost per lead and per won lead per channel / campaign (rows with reported spend only),
    one panel per currency, each with its own axis: amounts in different currencies are never
    drawn on one axis nor added up. None when no row has spend."""
    spent = [r for r in rows if r.get("spend") is not None]
    if not spent:
        return None
    months = {r["month_start"] for r in spent}
    by_currency: dict[str, list[Row]] = {}
    for row in spent:
        by_currency.setdefault(str(row.get("currency") or NO_CURRENCY), []).append(row)
    currencies = sorted(by_currency)
    gap = 0.12 if len(currencies) > 1 else 0.0
    height = (1 - gap * (len(currencies) - 1)) / len(currencies)
    data: list[dict[str, Any]] = []
    axes: dict[str, Any] = {}
    for number_, currency in enumerate(currencies):
        suffix = "" if number_ == 0 else str(number_ + 1)
        shown = by_currency[currency]
        x = [cost_label(r, len(months) > 1, with_dealer) for r in shown]
        for column, name, color in (
            ("cost_per_lead", "cost per lead", SERIES_COLORS[0]),
            ("cost_per_won", "cost per won", SERIES_COLORS[1]),
        ):
            data.append(
                {
                    "type": "bar",
                    "name": f"{name} ({currency})",
                    "x": x,
                    "y": [r.get(column) for r in shown],
                    "marker": {"color": color},
                    "legendgroup": column,
                    "xaxis": f"x{suffix}",
                    "yaxis": f"y{suffix}",
                    "hovertemplate": "%{x}: %{y:,.2f} " + currency + "<extra>" + name + "</extra>",
                }
            )
        top = 1 - number_ * (height + gap)
        axes[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "automargin": True}
        axes[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "domain": [max(top - height, 0), top],
            "title": {"text": currency},
            "rangemode": "tozero",
        }
    layout = _layout(title, barmode="group", height=380 * len(currencies), **axes)
    return {"data": data, "layout": layout}


def rank_dealers(rows: Sequence[Row], rate: str, volume: str) -> list[dict[str, Any]]:
    """Rows ranked by ``rate`` (highest first, missing last), ties by ``volume`` (highest first),
    then dealer code; each gains ``rank`` (1 = best)."""

    def key(row: Row) -> tuple:
        value = row.get(rate)
        return (value is None, -(value or 0), -(row.get(volume) or 0), str(row["dealer_code"]))

    return [{**row, "rank": n} for n, row in enumerate(sorted(rows, key=key), start=1)]


def ranking_figure(ranked: Sequence[Row], rate: str | None, volume: str, title: str) -> Spec:
    """Horizontal bars, best dealer on top: the rate when published, else the volume."""
    shown = list(reversed(ranked))  # plotly draws the first category at the bottom
    labels = [f"#{r['rank']} {r.get('dealer_name') or r['dealer_code']}" for r in shown]
    if rate:
        trace = {
            "type": "bar",
            "orientation": "h",
            "x": [r.get(rate) for r in shown],
            "y": labels,
            "text": [f"{percent(r.get(rate))} of {int(r.get(volume) or 0):,} leads" for r in shown],
            "textposition": "auto",
            "marker": {
                "color": [FINAL_COLOR if is_final(r, rate) else NOT_FINAL_COLOR for r in shown]
            },
        }
        xaxis = {"tickformat": ".0%", "rangemode": "tozero", "title": {"text": RATE_LABELS[rate]}}
    else:
        trace = {
            "type": "bar",
            "orientation": "h",
            "x": [int(r.get(volume) or 0) for r in shown],
            "y": labels,
            "text": [f"{int(r.get(volume) or 0):,}" for r in shown],
            "textposition": "auto",
            "marker": {"color": FINAL_COLOR},
        }
        xaxis = {"rangemode": "tozero", "title": {"text": volume.replace("_", " ")}}
    height = max(260, 60 + 34 * len(shown))
    layout = _layout(title, showlegend=False, xaxis=xaxis, height=height)
    layout["margin"] = {"l": 200, "r": 20, "t": 60, "b": 50}
    return {"data": [trace], "layout": layout}


# -- targets and the dealer ranking (mart_targets_attainment, mart_dealer_ranking) -------------

TARGET_METRICS = {"leads": "leads", "interested": "interested", "won": "won", "amount": "amount"}
HEADLINE_METRICS = {
    "leads": "leads",
    "interested": "interested",
    "won_in_period": "won",
    "amount_won": "sales amount",
    "satisfaction_score": "satisfaction (0-10)",
}


def number(value: float | None) -> str:
    """``1,234`` for whole numbers, ``8.50`` otherwise; a dash for a missing value."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def attainment_figure(rows: Sequence[Row], label_key: str, title: str) -> Spec:
    """Attainment (actual ÷ target, as the mart publishes it) per ``label_key`` value, one bar
    per metric, with the 100 % line; pale bars where the period is still running."""
    labels = list(dict.fromkeys(str(r[label_key]) for r in rows))
    data: list[dict[str, Any]] = []
    for number_, (metric, name) in enumerate(TARGET_METRICS.items()):
        by_label = {str(r[label_key]): r for r in rows if r["metric"] == metric}
        if not by_label:
            continue
        color = SERIES_COLORS[number_ % len(SERIES_COLORS)]
        shown = [by_label.get(label) for label in labels]
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": labels,
                "y": [r.get("attainment") if r else None for r in shown],
                "text": [
                    f"{number(r.get('actual'))} of {number(r.get('target'))}" if r else ""
                    for r in shown
                ],
                "textposition": "auto",
                "marker": {
                    "color": color,
                    "opacity": [1.0 if r and is_final(r) else 0.45 for r in shown],
                },
                "hovertemplate": "%{x}: %{y:.0%} (%{text})<extra>" + name + "</extra>",
            }
        )
    if labels:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "target (100 %)",
                "x": [labels[0], labels[-1]],
                "y": [1, 1],
                "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 2},
                "hoverinfo": "name",
            }
        )
    layout = _layout(
        title,
        barmode="group",
        yaxis={"tickformat": ".0%", "rangemode": "tozero", "title": {"text": "of target"}},
    )
    return {"data": data, "layout": layout}


def ranking_heatmap_figure(rows: Sequence[Row], names: Mapping[str, str], title: str) -> Spec:
    """Dealers (rows, best overall on top) by headline metrics (columns): the colour is the rank
    (1 = dark), the text the value and its rank."""
    metrics = [m for m in HEADLINE_METRICS if any(r["metric"] == m for r in rows)]
    cell = {(str(r["dealer_code"]), r["metric"]): r for r in rows}
    codes = {str(r["dealer_code"]) for r in rows if not r.get("is_group_total")}
    last = len(codes) + 1  # an unranked metric counts after every ranked dealer

    def rank_sum(code: str) -> int:
        return sum((cell.get((code, m)) or {}).get("dealer_rank") or last for m in metrics)

    dealers = sorted(codes, key=lambda code: (rank_sum(code), code))
    z, text = [], []
    for code in reversed(dealers):  # plotly draws the first row at the bottom
        z.append([(cell.get((code, m)) or {}).get("dealer_rank") for m in metrics])
        text.append(
            [
                f"{number((cell.get((code, m)) or {}).get('metric_value'))}"
                f" (#{(cell.get((code, m)) or {}).get('dealer_rank') or '–'})"
                for m in metrics
            ]
        )
    trace = {
        "type": "heatmap",
        "x": [HEADLINE_METRICS[m] for m in metrics],
        "y": [names.get(code, code) for code in reversed(dealers)],
        "z": z,
        "text": text,
        "texttemplate": "%{text}",
        "colorscale": [[0, FINAL_COLOR], [1, "#eef3f8"]],
        "showscale": False,
        "hovertemplate": "%{y} · %{x}: %{text}<extra></extra>",
    }
    layout = _layout(title, showlegend=False, height=max(260, 90 + 40 * len(dealers)))
    layout["margin"] = {"l": 200, "r": 20, "t": 60, "b": 50}
    return {"data": [trace], "layout": layout}


def change_figure(rows: Sequence[Row], previous: str, title: str) -> Spec:
    """Per headline metric, the change on the previous period and on the same period a year
    before (as the mart publishes them: relative, NULL when there is no base)."""
    shown = [
        {**r, "label": HEADLINE_METRICS[r["metric"]]}
        for m in HEADLINE_METRICS
        for r in rows
        if r["metric"] == m
    ]
    changes = {
        "change_vs_previous_period": f"vs the previous {previous}",
        "change_vs_previous_year": "vs a year before",
    }
    spec = rate_bars_figure(shown, "label", changes, title)
    spec["layout"]["yaxis"] = {"tickformat": "+.0%", "title": {"text": "change"}}
    return spec


# -- what the group reviews: lost reasons and the showroom (mart_lost_reasons, -----------------
# -- mart_showroom_activity) -------------------------------------------------------------------

LOST_STAGES = {
    "lost_from_potential": "lost at potential",
    "lost_from_interested": "lost at interested",
    "lost_from_needs_defined": "lost at needs defined",
    "lost_from_decision": "lost at decision",
}
UNMAPPED_REASONS = ("other", "unknown")
"""``other``: the source's text is not in the mapping; ``unknown``: the source gave none."""


def lost_reasons_figure(rows: Sequence[Row], title: str) -> Spec:
    """Losses per canonical reason (rows: ``lost_reason``, ``leads_lost``, the ``lost_from_*``
    counts and, where the mart publishes it, ``share``), stacked by the stage at loss, the reason
    with most losses on top. ``other`` and ``unknown`` are always listed (0 when none), so
    unmapped reasons stay visible."""
    by_reason = {str(r["lost_reason"]): r for r in rows}
    for reason in UNMAPPED_REASONS:
        by_reason.setdefault(reason, {"lost_reason": reason, "leads_lost": 0})
    mapped = sorted(
        (r for name, r in by_reason.items() if name not in UNMAPPED_REASONS),
        key=lambda r: (int(r.get("leads_lost") or 0), str(r["lost_reason"])),
    )
    # plotly draws the first category at the bottom: unmapped first, then the fewest losses
    shown = [by_reason[name] for name in reversed(UNMAPPED_REASONS)] + mapped
    labels = [
        f"{r['lost_reason']} (unmapped)" if r["lost_reason"] == "other" else str(r["lost_reason"])
        for r in shown
    ]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "x": [int(r.get(column) or 0) for r in shown],
            "y": labels,
            "marker": {"color": SERIES_COLORS[number_]},
            "hovertemplate": "%{y}: %{x}<extra>" + name + "</extra>",
        }
        for number_, (column, name) in enumerate(LOST_STAGES.items())
    ]
    annotations = []
    for label, row in zip(labels, shown, strict=True):
        text = f"{int(row.get('leads_lost') or 0):,}"
        if row.get("share") is not None:
            text += f" ({percent(row['share'])})"
        annotations.append(
            {
                "x": int(row.get("leads_lost") or 0),
                "y": label,
                "text": text,
                "xanchor": "left",
                "showarrow": False,
                "xshift": 4,
            }
        )
    layout = _layout(
        title,
        barmode="stack",
        annotations=annotations,
        height=max(300, 120 + 30 * len(shown)),
        xaxis={"title": {"text": "leads lost"}, "rangemode": "tozero"},
    )
    layout["margin"] = {"l": 200, "r": 60, "t": 60, "b": 60}
    return {"data": data, "layout": layout}


SHOWROOM_COUNTS = {
    "appointments": "appointments",
    "appointments_shown": "appointments shown",
    "appointments_no_show": "no-shows",
    "showroom_visits": "showroom visits",
    "test_drives": "test drives",
    "test_drive_leads_won": "test-driven leads won",
}
SHOWROOM_RATES = {
    "show_up_rate": "show-up rate",
    "rate_test_drive_to_won": "test drive → won",
}


def showroom_figure(rows: Sequence[Row], label_key: str, title: str) -> Spec:
    """Per row (a consultant or a dealer) the showroom counts as bars and, where the rows carry
    the mart's rates (a consultant-week), show-up and test drive → won as markers on a second
    axis: hollow while the week is running (show-up) or its cohort is not mature (→ won)."""
    x = [str(r[label_key]) for r in rows]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [int(r.get(column) or 0) for r in rows],
            "marker": {"color": SERIES_COLORS[number_ % len(SERIES_COLORS)]},
            "hovertemplate": "%{x}: %{y}<extra>" + name + "</extra>",
        }
        for number_, (column, name) in enumerate(SHOWROOM_COUNTS.items())
    ]
    extra: dict[str, Any] = {}
    rates = [c for c in SHOWROOM_RATES if any(c in r for r in rows)]
    for number_, column in enumerate(rates):
        name = SHOWROOM_RATES[column]
        color = ("#000000", THRESHOLD_COLOR)[number_ % 2]
        finals = [
            r.get("period_complete") is not False
            and (column == "show_up_rate" or r.get("is_mature") is not False)
            for r in rows
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": x,
                "y": [r.get(column) for r in rows],
                "yaxis": "y2",
                "marker": {
                    "size": 12,
                    "color": color,
                    "symbol": ["diamond" if f else "diamond-open" for f in finals],
                    "line": {"width": 2, "color": color},
                },
                "text": ["final" if f else "not final" for f in finals],
                "hovertemplate": "%{x}: %{y:.1%} (%{text})<extra>" + name + "</extra>",
            }
        )
    if rates:
        extra["yaxis2"] = {
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "tickformat": ".0%",
            "title": {"text": "rate"},
            "showgrid": False,
        }
    layout = _layout(
        title, barmode="group", yaxis={"title": {"text": "count"}, "rangemode": "tozero"}, **extra
    )
    return {"data": data, "layout": layout}


def period_comparison_figure(
    labels: Sequence[str], series: Mapping[str, Sequence[Row | None]], rate: str, title: str
) -> Spec:
    """Grouped bars: per label (a dealer) one bar per period of ``series`` (name -> one row or
    None per label), the ``rate`` as published; pale where the row is not final for it."""
    data = []
    for number_, (name, rows) in enumerate(series.items()):
        color = SERIES_COLORS[number_ % len(SERIES_COLORS)]
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": list(labels),
                "y": [r.get(rate) if r else None for r in rows],
                "marker": {
                    "color": color,
                    "opacity": [1.0 if r and is_final(r, rate) else 0.4 for r in rows],
                },
                "text": [
                    ("final" if is_final(r, rate) else "not mature yet") if r else "no leads"
                    for r in rows
                ],
                "hovertemplate": "%{x}: %{y:.1%} (%{text})<extra>" + name + "</extra>",
            }
        )
    layout = _layout(
        title,
        barmode="group",
        yaxis={"tickformat": ".0%", "rangemode": "tozero", "title": {"text": RATE_LABELS[rate]}},
    )
    return {"data": data, "layout": layout}
