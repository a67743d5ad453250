"""The review dashboard's pictures for one client, drawn on the server as SVG (review_charts)."""

import datetime as dt

from django.utils.safestring import mark_safe

from proctoring import review_charts
from proctoring.admin.desk import type_label
from proctoring.models import Client
from proctoring.selectors.review_desk import (
    PRECISION_WEEKS,
    SCORE_BIN,
    client_dashboard,
    dashboard_summary,
    precision_points,
)


def dashboard_context(client: Client, today: dt.date | None = None) -> dict:
    board = client_dashboard(client=client, today=today)
    end = board.attempts_per_day[-1][0] if board.attempts_per_day else board.since
    per_day = [(f"{day:%d %b}", n) for day, n in board.attempts_per_day]
    bins = [(f"{lower}–{lower + SCORE_BIN}", n) for lower, n in board.score_bins]
    by_type = [(type_label(t), n) for t, n in board.violations_by_type]
    series = {name: precision_points(rows) for name, rows in board.precision_by_week.items()}
    charts = {
        "per_day_svg": review_charts.bars_svg(
            values=per_day, label="Attempts per day, last 30 days", css="per-day"
        ),
        "scores_svg": review_charts.bars_svg(
            values=bins,
            label="Trust Score distribution (points, 0 = most suspicious)",
            css="scores",
        ),
        "types_svg": review_charts.hbars_svg(
            values=by_type, label="Violations by type", css="types"
        ),
        "precision_svg": review_charts.lines_svg(
            series={k: v for k, v in series.items() if v},
            start=end - dt.timedelta(weeks=PRECISION_WEEKS),
            end=end,
            label="Detector precision per week: confirmed / (confirmed + dismissed)",
            css="precision",
        ),
    }
    return {
        "board": board,
        "summary": dashboard_summary(board),
        "precision_weeks": PRECISION_WEEKS,
        **{name: mark_safe(svg) for name, svg in charts.items()},  # noqa: S308 (escaped inside)
    }
