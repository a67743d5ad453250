"""Server-side pictures for reviewers: the attempt timeline and face boxes over evidence photos.

Plain SVG strings built from escaped values, so the admin page needs no JavaScript or CDN.
"""

import struct
from dataclasses import dataclass

from django.utils.html import escape

from proctoring.statuses import ViolationType

WIDTH = 960
LABEL_W = 150
LANE_H = 26
AXIS_H = 28
MIN_BAR_W = 2.0
AXIS_LABEL_HALF_W = 24
NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
MAX_TICKS = 10
LANE_COLOURS = {
    ViolationType.NO_FACE: "#d97706",
    ViolationType.MULTIPLE_HUMANS: "#dc2626",
    ViolationType.SPEECH: "#7c3aed",
    ViolationType.NOISE: "#a78bfa",
    ViolationType.AWAY: "#0891b2",
    ViolationType.TAB_SWITCH: "#0e7490",
    ViolationType.MONITOR_CHANGE: "#4d7c0f",
    ViolationType.FULLSCREEN_EXIT: "#be185d",
    ViolationType.OFFLINE: "#6b7280",
    ViolationType.TRACK_ENDED: "#374151",
}
DEFAULT_COLOUR = "#2563eb"
FALLBACK_SIZE = (640, 480)


@dataclass(frozen=True)
class Span:
    type: str
    start_s: float
    end_s: float
    label: str = ""
    key: str = ""  # the violation's id, for the page's script (seek, select)


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _tick_step(duration_s: float) -> int:
    return next((s for s in NICE_STEPS_S if duration_s / s <= MAX_TICKS), NICE_STEPS_S[-1])


def _axis(duration_s: float, top: float, x) -> list[str]:
    step = _tick_step(duration_s)
    parts = [
        f'<g class="axis" data-top="{top}">',
        f'<line x1="{LABEL_W}" y1="{top}" x2="{WIDTH}" y2="{top}" stroke="#9ca3af"/>',
    ]
    t = 0
    while t <= duration_s + 1e-6:
        px = x(t)
        parts.append(
            f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{top + 5}" stroke="#6b7280"/>'
        )
        parts.append(
            f'<text x="{px:.1f}" y="{top + 18}" font-size="11" text-anchor="middle" '
            f'fill="#374151">{clock(t)}</text>'
        )
        t += step
    parts.append("</g>")
    return parts


def timeline_svg(
    *, spans: list[Span], markers: list[Span], duration_s: float, lanes: list[str]
) -> str:
    """One lane per violation type, bars over a time axis covering the whole attempt.

    `markers` (evidence) are drawn as ticks in their type's lane.
    """
    duration_s = max(duration_s, max((s.end_s for s in spans), default=0.0), 1.0)
    plot_w = WIDTH - LABEL_W - AXIS_LABEL_HALF_W  # the last tick's label stays inside

    def x(t: float) -> float:
        return LABEL_W + plot_w * min(max(t, 0.0), duration_s) / duration_s

    height = LANE_H * len(lanes) + AXIS_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="proctor-timeline" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'data-duration="{duration_s:.3f}" data-label-w="{LABEL_W}" data-plot-w="{plot_w}" '
        f'aria-label="Timeline of violations over {escape(clock(duration_s))}">'
    ]
    for row, lane in enumerate(lanes):
        y = row * LANE_H
        fill = "#f9fafb" if row % 2 else "#f3f4f6"
        parts.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE_H}" fill="{fill}"/>')
        parts.append(
            f'<text x="6" y="{y + 17}" font-size="12" fill="#111827">'
            f"{escape(ViolationType(lane).label if lane in ViolationType.values else lane)}</text>"
        )
        colour = LANE_COLOURS.get(lane, DEFAULT_COLOUR)
        for span in (s for s in spans if s.type == lane):
            left = x(span.start_s)
            width = max(x(span.end_s) - left, MIN_BAR_W)
            title = escape(span.label or f"{clock(span.start_s)}–{clock(span.end_s)}")
            parts.append(
                f'<rect class="violation" x="{left:.1f}" y="{y + 4}" width="{width:.1f}" '
                f'height="{LANE_H - 8}" rx="2" fill="{colour}" data-start="{span.start_s:.3f}" '
                f'data-end="{span.end_s:.3f}" data-violation="{escape(span.key)}">'
                f"<title>{title}</title></rect>"
            )
        for mark in (m for m in markers if m.type == lane):
            px = x(mark.start_s)
            parts.append(
                f'<path class="evidence" d="M{px:.1f} {y + LANE_H - 3} l-4 -6 h8 z" '
                f'data-at="{mark.start_s:.3f}" data-y="{y + LANE_H - 3}" '
                f'fill="#111827"><title>{escape(mark.label)}</title></path>'
            )
    parts += _axis(duration_s, LANE_H * len(lanes) + 2, x)
    parts.append("</svg>")
    return "".join(parts)


def faces_overlay_svg(*, image_url: str, size: tuple[int, int], faces: list[dict]) -> str:
    """The photo with each detected face's box ([x1, y1, x2, y2] in image pixels) drawn on it."""
    w, h = size
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="proctor-evidence" width="240" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{len(faces)} face(s)">',
        f'<image href="{escape(image_url)}" x="0" y="0" width="{w}" height="{h}"/>',
    ]
    for face in faces:
        box = face.get("box") if isinstance(face, dict) else None
        if not isinstance(box, list | tuple) or len(box) != 4:
            continue
        try:
            x1, y1, x2, y2 = (float(v) for v in box)
        except (TypeError, ValueError):
            continue
        score = face.get("score")
        label = f"face {float(score):.2f}" if isinstance(score, int | float) else "face"
        stroke = max(w / 160, 2)
        parts.append(
            f'<rect class="face-box" x="{x1:.1f}" y="{y1:.1f}" width="{x2 - x1:.1f}" '
            f'height="{y2 - y1:.1f}" fill="none" stroke="#22c55e" stroke-width="{stroke:.1f}">'
            f"<title>{escape(label)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def jpeg_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame marker, reading only the header bytes."""
    if not head.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        length = struct.unpack(">H", head[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", head[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None
