"""The review desk's presentation: list cells (score band, needs-review mark, counts, thumbnail),
the score breakdown in words, evidence grouped by violation, and the recordings to play.

Everything here reads what the selectors fetched; nothing queries per row (the list's query-count
test holds it to that). Markup is built with format_html, and the pages carry no inline script or
style (static files only, for the Content-Security-Policy)."""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from proctoring import review_pictures
from proctoring.models import Attempt, Evidence, EvidenceKind, MediaSession, ReviewVerdict
from proctoring.score_bands import REASON_LABELS, review_reasons, score_band
from proctoring.selectors.review_desk import violation_counts
from proctoring.selectors.violations import ViolationWithEvidence
from proctoring.services.violations import AUDIO_CLIP_MAX_S
from proctoring.statuses import AttemptStatus, ViolationType
from trust_score import COUNT_TYPES

# A violation's audio plays for at most this long, from its clips or the recording
# (docs/review.md): the workers keep that much of it (services/violations.py).
AUDIO_CLIP_CAP_S = AUDIO_CLIP_MAX_S
PICTURE_KINDS = (
    EvidenceKind.PHOTO,
    EvidenceKind.RANDOM_PHOTO,
    EvidenceKind.SCREENSHOT,
    EvidenceKind.REFERENCE,
    EvidenceKind.ID_CARD,
)
CLIENT_NAME_MAX = 18


# What each score component means, for the reviewer (docs/trust-score.md says why the weights).
COMPONENT_WORDS = {
    ViolationType.MULTIPLE_HUMANS: "Time with more than one person in view of the camera.",
    ViolationType.STREAM_MISSING: (
        "Time a required stream (camera, microphone or screen) was not analysed because it "
        "never arrived, was lost or the candidate was offline. No evidence is not clean evidence."
    ),
    ViolationType.AWAY: "Time the candidate's focus was outside the test window.",
    ViolationType.SPEECH: "Time the microphone heard speech.",
    ViolationType.NO_FACE: "Time no face was in view of the camera.",
    ViolationType.ANALYSIS_GAP: (
        "Time media reached the server but could not be analysed (usually the operator's fault; "
        "it costs less than missing media, and it always flags the attempt)."
    ),
    ViolationType.NOISE: "Time the microphone heard sound above the background without speech.",
    ViolationType.IMPERSONATION: "Time a different person than the one enrolled was in view.",
    ViolationType.MULTIPLE_SESSIONS: "Second sessions opened on this attempt at the same time.",
    ViolationType.TAB_SWITCH: "Switches away from the test window.",
    ViolationType.MONITOR_CHANGE: "Displays added or removed during the test.",
    ViolationType.FULLSCREEN_EXIT: "Exits from full screen (browser only).",
    ViolationType.OFFLINE: "Losses of the connection (their time counts as missing coverage).",
}


def type_label(value: str) -> str:
    return ViolationType(value).label if value in ViolationType.values else value


def duration_text(seconds: float | None) -> str:
    return "—" if seconds is None else review_pictures.clock(seconds)


def attempt_duration_s(attempt: Attempt) -> float | None:
    if attempt.started_at and attempt.finished_at:
        return (attempt.finished_at - attempt.started_at).total_seconds()
    return None


# -- the list --------------------------------------------------------------------------------


def score_cell(attempt: Attempt) -> str:
    band = score_band(attempt)
    text = "—" if attempt.trust_score is None else f"{attempt.trust_score:.1f}"
    return format_html('<span class="desk-score band-{}" title="{}">{}</span>', band, band, text)


def needs_review_cell(attempt: Attempt) -> str:
    reasons = review_reasons(attempt)
    if attempt.review_verdict != ReviewVerdict.UNREVIEWED:
        return format_html(
            '<span class="desk-verdict">{}</span>', attempt.get_review_verdict_display()
        )
    if attempt.status != AttemptStatus.STOPPED:
        return format_html('<span class="desk-pending">{}</span>', attempt.get_status_display())
    if not reasons:
        return format_html('<span class="desk-ok">{}</span>', "no")
    return format_html(
        '<span class="desk-needs">⚑ {}</span>',
        ", ".join(REASON_LABELS.get(r, r.replace("_", " ")) for r in reasons),
    )


def counts_cell(attempt: Attempt) -> str:
    counts = violation_counts(attempt)
    if not counts:
        return format_html('<span class="desk-none">{}</span>', "none")
    return format_html_join(
        " ",
        '<span class="desk-count" title="{}">{}×&nbsp;{}</span>',
        ((type_label(t), n, type_label(t)) for t, n in sorted(counts.items(), key=lambda i: -i[1])),
    )


def candidate_cell(attempt: Attempt) -> str:
    name = (attempt.user_details or {}).get("name") or "no name given"
    return format_html(
        '<span class="desk-name">{}</span><br><span class="desk-key">{}</span><br>'
        '<span class="desk-id">{}</span>',
        name,
        attempt.lookup_key or "no lookup key",
        attempt.test_attempt_id,
    )


def duration_cell(attempt: Attempt) -> str:
    started = attempt.started_at
    return format_html(
        '{}<br><span class="desk-key">{}</span>',
        duration_text(attempt_duration_s(attempt)),
        date_format(localtime(started), "j M H:i") if started else "not started",
    )


def client_cell(attempt: Attempt) -> str:
    name = attempt.client.name
    short = name if len(name) <= CLIENT_NAME_MAX else name[: CLIENT_NAME_MAX - 1] + "…"
    return format_html('<span title="{} ({})">{}</span>', name, attempt.client.client_id, short)


def thumbnail_cell(attempt: Attempt) -> str:
    thumbnail_id = getattr(attempt, "thumbnail_id", None)
    if not thumbnail_id:
        return format_html('<span class="desk-nothumb">{}</span>', "no photo")
    url = reverse("admin:proctoring_attempt_evidence_file", args=[attempt.pk, thumbnail_id])
    return format_html(
        '<img class="desk-thumb" src="{}" alt="photo" loading="lazy" width="56" height="42">', url
    )


# -- the detail page -------------------------------------------------------------------------


def breakdown_rows(breakdown: dict) -> list[dict]:
    """Each component with its units, rounded, and in words; only those that cost something or
    had evidence, largest cost first."""
    test_s = breakdown.get("test_seconds")
    rows = []
    for c in breakdown.get("components", []):
        seconds, count = c.get("seconds"), c.get("count")
        if not (c.get("points_lost") or seconds or count):
            continue
        rows.append(_breakdown_row(c, test_s))
    return sorted(rows, key=lambda r: -r["points"])


def _breakdown_row(c: dict, test_s: float | None) -> dict:
    kind_count = c["type"] in COUNT_TYPES
    seconds, count = c.get("seconds"), c.get("count")
    if kind_count:
        evidence = f"{count or 0} event{'s' if count != 1 else ''}"
        measure = f"{c.get('measure', 0):.2f} per hour"
        half = f"{c.get('half_point', 0):g} per hour"
    else:
        evidence = f"{seconds or 0:.1f} s"
        measure = f"{100 * c.get('measure', 0):.2f} % of the test"
        half = f"{100 * c.get('half_point', 0):g} % of the test"
    points = round(float(c.get("points_lost", 0.0)), 1)
    words = (
        f"{evidence} ({measure}). This type costs at most {c.get('weight', 0):g} points, and half "
        f"of that at {half}; here it costs {points:.1f} points."
    )
    return {
        "type": type_label(c["type"]),
        "meaning": COMPONENT_WORDS.get(c["type"], ""),
        "evidence": evidence,
        "measure": measure,
        "weight": f"{c.get('weight', 0):g}",
        "points": points,
        "words": words,
    }


@dataclass
class Recording:
    session: MediaSession
    url: str
    offset_s: float  # attempt seconds at the recording's time zero


def recordings(attempt: Attempt, sessions: list[MediaSession]) -> list[Recording]:
    return [
        Recording(
            session=s,
            url=reverse("admin:proctoring_attempt_recording", args=[attempt.pk, s.pk]),
            offset_s=s.offset_s,
        )
        for s in sessions
    ]


@dataclass
class EvidenceGroup:
    """One violation with its evidence, for the page's evidence section."""

    row: object  # attempts.ReviewRow
    pictures: list[dict] = field(default_factory=list)
    clips: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    # The whole violation, from the recording: start and end (capped) in attempt seconds.
    play_from_s: float = 0.0
    play_to_s: float = 0.0
    capped: bool = False


def evidence_groups(rows: list, items_by_pk: dict[int, dict]) -> list[EvidenceGroup]:
    groups = []
    for row in rows:
        v = row.violation
        group = EvidenceGroup(
            row=row,
            play_from_s=v.start_s,
            play_to_s=min(v.end_s, v.start_s + AUDIO_CLIP_CAP_S),
            capped=v.end_s - v.start_s > AUDIO_CLIP_CAP_S,
        )
        for evidence in row.evidence:
            _sort_into(group, items_by_pk.get(evidence.pk))
        groups.append(group)
    return groups


def _sort_into(group: EvidenceGroup, item: dict | None) -> None:
    if item is None:
        return
    evidence: Evidence = item["evidence"]
    if evidence.kind in PICTURE_KINDS:
        group.pictures.append(item)
    elif evidence.kind == EvidenceKind.AUDIO:
        group.clips.append(item)
    else:
        group.files.append(item)


def ungrouped_evidence(rows: list[ViolationWithEvidence], items: list[dict]) -> list[dict]:
    """Evidence no violation claims (random photos, references, screenshots on events)."""
    claimed = {e.pk for row in rows for e in row.evidence}
    return [item for item in items if item["evidence"].pk not in claimed]
