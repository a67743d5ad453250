"""What a report page shows of one attempt: plain values for the template, no ORM in it.

Evidence and the recording are reached through signed links that live as long as the report's
own link, so a clip played near the end of the report's life still loads.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.urls import reverse

from proctoring import score_bands
from proctoring.models import Attempt, Evidence, EvidenceKind
from proctoring.selectors import attempts as attempt_selectors
from proctoring.selectors import evidence as evidence_selectors
from proctoring.selectors import identity as identity_selectors
from proctoring.services import evidence_access
from proctoring.statuses import ViolationType

PERCENT = 100.0


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    label: str
    url: str
    at_s: float

    @property
    def is_image(self) -> bool:
        return self.kind != EvidenceKind.AUDIO

    @property
    def is_audio(self) -> bool:
        return self.kind == EvidenceKind.AUDIO


@dataclass(frozen=True)
class ViolationRow:
    label: str
    type: str
    code: int
    start_s: float
    end_s: float
    left_pct: float
    width_pct: float
    verdict: str
    evidence: list[EvidenceItem] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def test_length_s(attempt: Attempt, violations) -> float:
    """The span the timeline covers: start to finish, else the planned length, else the last
    violation's end (an attempt still running)."""
    if attempt.started_at and attempt.finished_at:
        return max(1.0, (attempt.finished_at - attempt.started_at).total_seconds())
    if attempt.test_duration_min:
        return attempt.test_duration_min * 60.0
    return max([1.0, *(v.violation.end_s for v in violations)])


def _evidence_item(request, attempt: Attempt, evidence: Evidence, expires_at) -> EvidenceItem:
    link = evidence_access.evidence_link_mint(
        client=attempt.client, evidence=evidence, expires_at=expires_at
    )
    url = request.build_absolute_uri(reverse("evidence-download", kwargs={"token": link.token}))
    label = f"{EvidenceKind(evidence.kind).label} at {evidence.at_s:.0f} s"
    return EvidenceItem(kind=evidence.kind, label=label, url=url, at_s=evidence.at_s)


def _violation_rows(request, attempt, found, length_s, expires_at) -> list[ViolationRow]:
    rows = []
    for item in found:
        v = item.violation
        left = min(PERCENT, max(0.0, v.start_s / length_s * PERCENT))
        width = max(0.5, min(PERCENT - left, (v.end_s - v.start_s) / length_s * PERCENT))
        review = getattr(v, "review", None)
        rows.append(
            ViolationRow(
                label=ViolationType(v.type).label,
                type=v.type,
                code=v.code,
                start_s=v.start_s,
                end_s=v.end_s,
                left_pct=round(left, 2),
                width_pct=round(width, 2),
                verdict=review.verdict if review else "",
                evidence=[_evidence_item(request, attempt, e, expires_at) for e in item.evidence],
            )
        )
    return rows


def _recording_urls(request, attempt: Attempt, expires_at) -> list[str]:
    urls = []
    for session in evidence_selectors.attempt_recordings(attempt=attempt):
        link = evidence_access.recording_link_mint(
            client=attempt.client, session=session, expires_at=expires_at
        )
        urls.append(
            request.build_absolute_uri(reverse("recording-download", kwargs={"token": link.token}))
        )
    return urls


def report_context(*, request, attempt: Attempt, expires_at: dt.datetime) -> dict:
    detail = attempt_selectors.attempt_detail(attempt=attempt)
    length_s = test_length_s(attempt, detail.violations)
    identity = identity_selectors.attempt_identity_summary(attempt=attempt)
    client = attempt.client
    return {
        "attempt": attempt,
        "brand_name": client.display_name or client.name,
        "logo_url": client.logo_url,
        "band": score_bands.score_band(attempt),
        "band_label": score_bands.BAND_LABELS[score_bands.score_band(attempt)],
        "candidate": (attempt.user_details or {}).get("name", ""),
        "length_min": round(length_s / 60.0, 1),
        "violations": _violation_rows(request, attempt, detail.violations, length_s, expires_at),
        "counts": sorted((ViolationType(t).label, n) for t, n in detail.violation_counts.items()),
        "reasons": score_bands.reason_labels(attempt),
        "coverage": sorted((attempt.coverage or {}).items()),
        "recordings": _recording_urls(request, attempt, expires_at),
        "identity": identity.result if identity else "",
        "expires_at": expires_at,
    }
