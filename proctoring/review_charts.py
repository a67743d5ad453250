"""Server-side SVG charts for the review dashboard: vertical bars, horizontal bars and lines.

Plain SVG strings built from escaped values (as review_pictures.py): no JavaScript chart library,
no CDN, nothing for the Content-Security-Policy to allow (docs/decisions/0018-review-desk.md).
"""

import datetime as dt
from collections.abc import Sequence

from django.utils.html import escape

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 44
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 40
BAR_COLOUR = "#2563eb"
GRID_COLOUR = "#e5e7eb"
TEXT_COLOUR = "#374151"
LINE_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2")
MAX_X_LABELS = 10
ROW_H = 22
LABEL_W = 170


def _open(width: int, height: int, label: str, css: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="desk-chart {css}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
    )


def _nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    value = max(value, 1)
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= value)


def _y_grid(top: float, *, percent: bool = False) -> list[str]:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = []
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        text = f"{value * 100:.0f} %" if percent else f"{value:g}"
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}"/><text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="{TEXT_COLOUR}">{escape(text)}</text>'
        )
    return parts


def bars_svg(*, values: Sequence[tuple[str, float]], label: str, css: str = "") -> str:
    """Vertical bars, one per (label, value), with about MAX_X_LABELS labels under them."""
    top = _nice_max(max((v for _, v in values), default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(values), 1)
    every = max(1, -(-len(values) // MAX_X_LABELS))
    parts = [_open(WIDTH, HEIGHT, label, css), *_y_grid(top)]
    for i, (name, value) in enumerate(values):
        h = plot_h * value / top
        x = PAD_LEFT + i * slot
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.1:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{BAR_COLOUR}">'
            f"<title>{escape(name)}: {value:g}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle" fill="{TEXT_COLOUR}">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def hbars_svg(*, values: Sequence[tuple[str, float]], label: str, css: str = "") -> str:
    """Horizontal bars, one row per (label, value), longest first as given."""
    height = max(len(values), 1) * ROW_H + 8
    top = _nice_max(max((v for _, v in values), default=0))
    plot_w = WIDTH - LABEL_W - 60
    parts = [_open(WIDTH, height, label, css)]
    if not values:
        parts.append(f'<text x="6" y="18" font-size="12" fill="{TEXT_COLOUR}">none</text>')
    for i, (name, value) in enumerate(values):
        y = 4 + i * ROW_H
        w = max(plot_w * value / top, 1.0)
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" font-size="12" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{escape(name)}</text>'
            f'<rect class="bar" x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 6}" '
            f'fill="{BAR_COLOUR}"><title>{escape(name)}: {value:g}</title></rect>'
            f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 15}" font-size="12" '
            f'fill="{TEXT_COLOUR}">{value:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def lines_svg(
    *,
    series: dict[str, Sequence[tuple[dt.date, float, int]]],
    start: dt.date,
    end: dt.date,
    label: str,
    css: str = "",
) -> str:
    """One line per series of (date, fraction 0..1, weight) over [start, end]; each point's
    title gives its weight (how many verdicts it rests on)."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    span_days = max((end - start).days, 1)

    def x(day: dt.date) -> float:
        return PAD_LEFT + plot_w * min(max((day - start).days, 0), span_days) / span_days

    def y(value: float) -> float:
        return PAD_TOP + plot_h - plot_h * value

    parts = [_open(WIDTH, HEIGHT, label, css), *_y_grid(1.0, percent=True)]
    for day, anchor in ((start, "start"), (start + (end - start) / 2, "middle"), (end, "end")):
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" font-size="11" '
            f'text-anchor="{anchor}" fill="{TEXT_COLOUR}">{day:%d %b}</text>'
        )
    for i, (name, points) in enumerate(sorted(series.items())):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v, _ in points)
        if len(points) > 1:
            parts.append(
                f'<polyline class="series" points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2"/>'
            )
        for d, v, n in points:
            parts.append(
                f'<circle class="point" cx="{x(d):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}">'
                f"<title>{escape(name)}, week of {d:%d %b %Y}: {v * 100:.0f} % of {n} "
                f"verdict{'s' if n != 1 else ''}</title></circle>"
            )
        parts.append(
            f'<text x="{PAD_LEFT + 8 + 150 * i}" y="{HEIGHT - 6}" font-size="12" '
            f'fill="{colour}">■ {escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
