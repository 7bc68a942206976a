"""Charts as inline SVG made on the server: no script, no library, readable without colour.

Each function takes plain numbers and returns SVG markup (`Markup`, every text in it escaped) with a `<title>`
and a `<desc>` that says in words what the chart shows, for screen readers. Presentation attributes (`fill`,
`stroke`) rather than `style`, so the Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
INK, ACCENT, GRID = "#1f2933", "#1d4ed8", "#cbd2d9"


def _frame(title: str, desc: str, body: list[str], x_labels: Sequence[tuple[float, str]],
           y_labels: Sequence[tuple[float, str]]) -> Markup:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'width="100%" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>'
             f"<desc>{escape(desc)}</desc>",
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>']
    for y, label in y_labels:
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">'
                     f"{escape(label)}</text>")
    for x, label in x_labels:
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                     f'fill="{INK}">{escape(label)}</text>')
    return Markup("".join(parts + body + ["</svg>"]))


def _x(fraction: float) -> float:
    return LEFT + fraction * (WIDTH - LEFT - RIGHT)


def _y(fraction: float) -> float:
    return HEIGHT - BOTTOM - fraction * (HEIGHT - TOP - BOTTOM)


def histogram(counts: Sequence[int], edges: Sequence[float], title: str, what: str) -> Markup:
    """Bars of `counts` between `edges` (len(counts) + 1 of them)."""
    top = max(counts, default=0) or 1
    width = (WIDTH - LEFT - RIGHT) / max(len(counts), 1)
    body = []
    for i, count in enumerate(counts):
        height = count / top * (HEIGHT - TOP - BOTTOM)
        body.append(f'<rect x="{LEFT + i * width + 1:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                    f'width="{max(width - 2, 1):.1f}" height="{height:.1f}" fill="{ACCENT}">'
                    f"<title>{edges[i]:.2f}-{edges[i + 1]:.2f}: {count:,}</title></rect>")
    peak = int(max(range(len(counts)), key=lambda i: counts[i])) if counts else 0
    desc = (f"{sum(counts):,} {what}; the most between {edges[peak]:.2f} and {edges[peak + 1]:.2f} "
            f"({counts[peak]:,})" if counts else f"no {what}")
    x_labels = [(_x(i / 4), f"{edges[0] + (edges[-1] - edges[0]) * i / 4:.2f}") for i in range(5)] if counts else []
    return _frame(title, desc, body, x_labels, [(_y(1), f"{top:,}"), (_y(0.5), f"{top / 2:,.0f}")])


def _time_x(when: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    span = (end - start).total_seconds() or 1.0
    return _x(min(max((when - start).total_seconds() / span, 0.0), 1.0))


def _month_labels(start: dt.datetime, end: dt.datetime) -> list[tuple[float, str]]:
    labels, month = [], dt.datetime(start.year, start.month, 1) + dt.timedelta(days=32)
    month = month.replace(day=1)
    while month < end:
        if month.month in (1, 4, 7, 10):
            labels.append((_time_x(month, start, end), month.strftime("%b %Y")))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return labels


def sentiment_trend(points: Sequence[tuple[dt.datetime, float]], start: dt.datetime, end: dt.datetime) -> Markup:
    """The customer's message sentiment (-1..1) over time: a dot per message, joined in time order."""
    coords = [(_time_x(when, start, end), _y((value + 1) / 2)) for when, value in sorted(points)]
    body = []
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="1.5"/>')
    for (x, y), (when, value) in zip(coords, sorted(points), strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ACCENT}">'
                    f"<title>{when:%Y-%m-%d}: {value:+.2f}</title></circle>")
    if points:
        values = [v for _, v in sorted(points)]
        desc = (f"{len(points)} messages; mean {sum(values) / len(values):+.2f}, the latest {values[-1]:+.2f} "
                "(VADER compound, -1 very negative to +1 very positive)")
    else:
        desc = "no scored customer message in the period"
    labels = [(_y(1), "+1"), (_y(0.5), "0"), (_y(0), "-1")]
    return _frame("Sentiment of the customer's messages", desc, body, _month_labels(start, end), labels)


def purchases_by_month(purchases: Sequence[tuple[dt.datetime, float]], start: dt.datetime,
                       end: dt.datetime) -> Markup:
    """Spend per calendar month over the period, as bars."""
    months: list[dt.datetime] = []
    month = dt.datetime(start.year, start.month, 1)
    while month < end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    totals = [0.0] * len(months)
    counts = [0] * len(months)
    for when, amount in purchases:
        i = (when.year - start.year) * 12 + when.month - start.month
        if 0 <= i < len(months):
            totals[i] += amount
            counts[i] += 1
    top = max(totals, default=0.0) or 1.0
    width = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    body = []
    for i, (month, total) in enumerate(zip(months, totals, strict=True)):
        height = total / top * (HEIGHT - TOP - BOTTOM)
        body.append(f'<rect x="{LEFT + i * width + 2:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                    f'width="{max(width - 4, 1):.1f}" height="{height:.1f}" fill="{ACCENT}">'
                    f"<title>{month:%b %Y}: {counts[i]} purchases, {total:,.2f}</title></rect>")
    x_labels = [(LEFT + (i + 0.5) * width, f"{m:%b}") for i, m in enumerate(months) if i % 2 == 0]
    desc = f"{sum(counts)} purchases worth {sum(totals):,.2f} in the period" if purchases else "no purchase"
    return _frame("Purchases per month", desc, body, x_labels, [(_y(1), f"{top:,.0f}"), (_y(0.5), f"{top / 2:,.0f}")])


def probability_history(points: Sequence[tuple[str, float]]) -> Markup:
    """Churn probability (0..1) in each score batch, oldest first, labelled by batch."""
    n = len(points)
    coords = [(_x((i + 0.5) / n), _y(min(max(p, 0.0), 1.0))) for i, (_, p) in enumerate(points)]
    body = []
    if n > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="1.5"/>')
    for (x, y), (batch, p) in zip(coords, points, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{ACCENT}"><title>batch {escape(batch)}: '
                    f"{p:.1%}</title></circle>")
    desc = ("; ".join(f"batch {b}: {p:.1%}" for b, p in points) if points else "in no kept score batch")
    x_labels = [(x, batch[:8]) for (x, _), (batch, _) in zip(coords, points, strict=True)]
    return _frame("Churn probability across score batches", desc, body, x_labels,
                  [(_y(1), "100%"), (_y(0.5), "50%"), (_y(0), "0%")])
