"""Record raw observations idempotently and turn them into violations as they arrive."""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from proctoring.analysis import findings
from proctoring.analysis.thresholds import Thresholds
from proctoring.ingest import rpc
from proctoring.intervals import Span, merge_spans
from proctoring.models import (
    Attempt,
    Evidence,
    MediaSession,
    Observation,
    ObservationKind,
    Violation,
)
from proctoring.selectors import attempt_thresholds
from proctoring.statuses import AttemptStatus, ViolationType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """Where a sample sits: which session, its sequence number and its media time."""

    session_id: uuid.UUID | str
    seq: int
    media_time: float
    duration_s: float


@dataclass(frozen=True)
class EvidenceFile:
    """What to keep if this sample starts a violation: a JPEG frame or a WAV clip."""

    kind: str
    extension: str
    content: bytes
    data: dict[str, Any]


ObservationKey = tuple[str, str, int]  # (session id, kind, seq): one sample, recorded once


@dataclass(frozen=True)
class Observed:
    """What the models saw in one sample, ready to record."""

    kind: str
    sample: Sample
    data: dict[str, Any]
    evidence: EvidenceFile | None = None


@dataclass(frozen=True)
class _Judged:
    observed: Observed
    session: MediaSession
    thresholds: Thresholds
    finding: str


def observation_key(*, kind: str, sample: Sample) -> ObservationKey:
    return str(sample.session_id), str(kind), sample.seq


def observations_recorded(*, keys: Iterable[ObservationKey]) -> set[ObservationKey]:
    """Which of these samples are recorded already (a redelivered batch): one query."""
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for session_id, kind, seq in keys:
        seqs[(session_id, kind)].append(seq)
    if not seqs:
        return set()
    query = Q()
    for (session_id, kind), stream_seqs in seqs.items():
        query |= Q(session_id=session_id, kind=kind, seq__in=stream_seqs)
    rows = Observation.objects.filter(query).values_list("session_id", "kind", "seq")
    return {(str(session_id), kind, seq) for session_id, kind, seq in rows}


def observations_record(*, observed: Sequence[Observed]) -> None:
    """Store a batch of observations (once, whatever the redeliveries) and extend violations.

    A clean sample (most of them) cannot confirm anything: the batch's clean samples go in one
    insert. The samples with a finding go in one transaction under their attempts' locks.
    """
    judged = _judge(observed)
    Observation.objects.bulk_create(
        [_observation(j) for j in judged if not j.finding], ignore_conflicts=True
    )
    flagged = [j for j in judged if j.finding]
    if flagged:
        _record_flagged(flagged)


def _judge(observed: Sequence[Observed]) -> list[_Judged]:
    """Each sample's finding; a session's samples in seq order, audio after the window before."""
    contexts = _session_contexts({str(o.sample.session_id) for o in observed})
    present = [o for o in observed if str(o.sample.session_id) in contexts]
    ordered = sorted(present, key=lambda o: (str(o.sample.session_id), o.kind, o.sample.seq))
    previous = _audio_before(ordered)
    judged = []
    for item in ordered:
        session_id = str(item.sample.session_id)
        session, th = contexts[session_id]
        if item.kind == ObservationKind.VIDEO:
            finding = findings.video_finding(item.data, th)
        else:
            finding = _audio_finding(item, previous.get(session_id), th)
            previous[session_id] = item.data
        judged.append(_Judged(item, session, th, finding))
    return judged


def _session_contexts(session_ids: set[str]) -> dict[str, tuple[MediaSession, Thresholds]]:
    """Each session with its attempt, client and thresholds, loaded once for the whole batch."""
    sessions = MediaSession.objects.select_related("attempt__client").in_bulk(session_ids)
    for missing in session_ids - {str(pk) for pk in sessions}:
        # Deleted since the sample was sent (its attempt was purged): nothing to record it on.
        logger.warning("session %s no longer exists: its samples are not recorded", missing)
    return {
        str(pk): (session, attempt_thresholds(attempt=session.attempt))
        for pk, session in sessions.items()
    }


def _audio_before(ordered: Sequence[Observed]) -> dict[str, dict[str, Any]]:
    """The data of each session's last recorded audio window before its first in the batch."""
    first: dict[str, int] = {}
    for item in ordered:
        if item.kind == ObservationKind.AUDIO:
            first.setdefault(str(item.sample.session_id), item.sample.seq)
    queries = [
        Observation.objects.filter(session_id=session_id, kind=ObservationKind.AUDIO, seq__lt=seq)
        .order_by("-seq")
        .values_list("session_id", "data")[:1]
        for session_id, seq in first.items()
    ]
    if not queries:
        return {}
    # One round trip, each branch an index lookup (LIMIT 1 per session, not a scan).
    rows = queries[0].union(*queries[1:], all=True)
    return {str(session_id): data for session_id, data in rows}


def _audio_finding(item: Observed, previous: dict[str, Any] | None, th: Thresholds) -> str:
    """The window's finding against the background so far; it carries the background on."""
    sample, data = item.sample, item.data
    background = previous.get("background_next") if previous else None
    calibrated = sample.media_time >= th.background_calibration_s
    data["background_next"] = findings.next_background(
        background, data, elapsed_s=sample.media_time, th=th
    )
    return findings.audio_finding(data, background if calibrated else None, th)


def _observation(item: _Judged) -> Observation:
    return Observation(
        session=item.session,
        kind=item.observed.kind,
        seq=item.observed.sample.seq,
        **_recorded_fields(item),
    )


def _recorded_fields(item: _Judged) -> dict[str, Any]:
    """What an observation holds besides its key (session, kind, seq)."""
    sample, session = item.observed.sample, item.session
    return {
        "attempt_id": session.attempt_id,
        "media_time": sample.media_time,
        "attempt_time": session.offset_s + sample.media_time,
        "duration_s": sample.duration_s,
        "data": item.observed.data,
        "finding": item.finding,
    }


@transaction.atomic
def _record_flagged(items: Sequence[_Judged]) -> None:
    """Record the batch's flagged samples and union the confirmed ones into violations.

    One lock, one duplicate check, one insert and one read of the flags around them for the
    whole batch: at 24 candidates with speech and a second face most samples are flagged, and
    one transaction per sample cost about 7 round trips each.
    """
    # Locking the attempt rows serialises merges of one attempt across parallel workers; in id
    # order, so two workers locking overlapping sets never wait on each other in a cycle.
    attempts = (
        Attempt.objects.select_for_update()
        .order_by("pk")
        .in_bulk({item.session.attempt_id for item in items})
    )
    present = [item for item in items if item.session.attempt_id in attempts]  # else purged
    # A redelivery: flagged samples of an attempt are recorded under its lock, so this is exact.
    recorded = observations_recorded(keys=[_key(item) for item in present])
    new = [item for item in present if _key(item) not in recorded]
    # Not get_or_create: its savepoint costs two more round trips per sample.
    Observation.objects.bulk_create([_observation(item) for item in new], ignore_conflicts=True)
    live = [
        item for item in new if attempts[item.session.attempt_id].status != AttemptStatus.STOPPED
    ]
    flags_nearby = _flags_nearby(live)
    for item in sorted(live, key=_key):
        _extend_violations(attempts[item.session.attempt_id], item, flags_nearby[_stream(item)])


def _key(item: _Judged) -> ObservationKey:
    return observation_key(kind=item.observed.kind, sample=item.observed.sample)


def _stream(item: _Judged) -> tuple[str, str]:
    return str(item.session.pk), item.observed.kind


def _reach(th: Thresholds) -> int:
    """How far from a sample K-of-N can look: the samples a new flag can confirm."""
    return max(th.video_n, th.speech_n, th.noise_n)


def _flags_nearby(items: Sequence[_Judged]) -> dict[tuple[str, str], list[Observation]]:
    """Every flagged observation within reach of the items, by stream: one query for the batch."""
    nearby: dict[tuple[str, str], list[Observation]] = defaultdict(list)
    if not items:
        return nearby
    query = Q()
    for item in items:
        reach, seq = _reach(item.thresholds), item.observed.sample.seq
        query |= Q(
            session_id=item.session.pk,
            kind=item.observed.kind,
            seq__gte=seq - reach + 1,
            seq__lte=seq + reach - 1,
        )
    for observation in Observation.objects.filter(query).exclude(finding="").order_by("seq"):
        nearby[(str(observation.session_id), observation.kind)].append(observation)
    return nearby


def _extend_violations(attempt: Attempt, item: _Judged, stream_flags: list[Observation]) -> None:
    session, kind, seq = item.session, item.observed.kind, item.observed.sample.seq
    started, seq_confirmed = _extend_confirmed(
        attempt, session, kind, seq, item.thresholds, stream_flags
    )
    for violation in started:
        _on_violation_started(attempt, session, violation, item.observed.evidence)
    if kind == ObservationKind.VIDEO and not seq_confirmed:
        _request_early_sample(session)


def _request_early_sample(session: MediaSession) -> None:
    """A flagged frame that K-of-N cannot confirm yet: the ingest samples the next frame now.

    Waiting for the sampling grid would add a whole interval to the violation's latency.
    """
    if session.ingest_node and session.ended_at is None:
        transaction.on_commit(
            lambda: rpc.request_early_sample(node=session.ingest_node, session_id=session.pk),
            robust=True,  # a lost request costs latency only: the grid's sample still comes
        )


def _extend_confirmed(
    attempt, session, kind: str, seq: int, th: Thresholds, stream_flags: list[Observation]
) -> tuple[list[Violation], bool]:
    """Re-judge the samples around `seq` and union every confirmed one into a violation.

    `stream_flags` are the stream's flagged observations around the batch's samples. Returns the
    violations that started, and whether `seq` itself is confirmed.
    """
    reach = _reach(th)
    nearby = [o for o in stream_flags if seq - reach < o.seq < seq + reach]
    flags = {o.seq: o.finding for o in nearby}
    confirmed = [o for o in nearby if findings.confirmed(flags, o.seq, th)]
    started = []
    for finding, span, details in _confirmed_runs(session, kind, confirmed):
        violation, created = violation_extend(
            attempt=attempt, type=finding, span=span, details=details
        )
        if created:
            started.append(violation)
    return started, any(o.seq == seq for o in confirmed)


def _confirmed_runs(session, kind: str, confirmed: list) -> list[tuple[str, Span, dict]]:
    """(finding, span, worst details) per run of confirmed samples within the merge gap.

    One violation_extend per run instead of one per sample: the union is the same, the queries
    and saves are not (up to 2N-1 samples are re-judged around each flagged one).
    """
    gap = settings.PROCTOR_MERGE_GAP_S
    runs: list[tuple[str, Span, dict]] = []
    for obs in sorted(confirmed, key=lambda o: (o.finding, o.attempt_time)):
        span = Span(obs.attempt_time, obs.attempt_time + obs.duration_s)
        row = findings.Row(
            str(session.pk), kind, obs.seq, obs.attempt_time, obs.duration_s, obs.data, obs.finding
        )
        details = findings.details_for(row)
        if runs and runs[-1][0] == obs.finding and runs[-1][1].touches(span, gap=gap):
            _, last_span, last_details = runs[-1]
            runs[-1] = (
                obs.finding,
                last_span.union(span),
                findings.merge_details(last_details, details),
            )
        else:
            runs.append((obs.finding, span, details))
    return runs


def violation_extend(
    *, attempt: Attempt, type: str, span: Span, details: dict[str, Any]
) -> tuple[Violation, bool]:
    """Union the span into the attempt's violations of this type (caller holds the attempt lock)."""
    gap = settings.PROCTOR_MERGE_GAP_S
    # Through the related manager, so each row comes with `attempt` set: set_span reads its start
    # time, which would otherwise cost one more query per extension.
    touching = list(
        attempt.violations.filter(
            type=type, start_s__lte=span.end + gap, end_s__gte=span.start - gap
        ).order_by("start_s", "id")
    )
    if not touching:
        violation = Violation.for_span(
            attempt=attempt, type=type, start_s=span.start, end_s=span.end, details=details
        )
        violation.save()
        return violation, True
    keep, *absorbed = touching
    (merged,) = merge_spans([Span(v.start_s, v.end_s) for v in touching] + [span], gap=gap)
    new_details = keep.details
    for extra in [*(other.details for other in absorbed), details]:
        new_details = findings.merge_details(new_details, extra)
    if not absorbed and merged == Span(keep.start_s, keep.end_s) and new_details == keep.details:
        return keep, False  # already covered: samples around a flagged one are re-judged
    keep.details = new_details
    keep.set_span(merged.start, merged.end)
    keep.save(update_fields=["details", "start_s", "end_s", "started_at", "ended_at"])
    if absorbed:
        Violation.objects.filter(pk__in=[v.pk for v in absorbed]).delete()
    return keep, False


def _on_violation_started(attempt, session, violation: Violation, evidence: EvidenceFile | None):
    if evidence is not None:
        item = Evidence(
            attempt=attempt,
            type=violation.type,
            kind=evidence.kind,
            at_s=violation.start_s,
            data=evidence.data,
        )
        item.file.save(
            f"{uuid.uuid4().hex}.{evidence.extension}", ContentFile(evidence.content), save=True
        )
    message = {
        "type": "violation",
        "code": violation.code,
        "violation": violation.type,
        "start_s": round(violation.start_s, 2),
    }
    if session.ingest_node and session.ended_at is None:
        transaction.on_commit(
            lambda: rpc.request_push(
                node=session.ingest_node, session_id=session.pk, message=message
            )
        )


def media_session_close(
    *,
    session_id: uuid.UUID | str,
    samples_enqueued: int,
    reason: str,
    ended_at: dt.datetime | None = None,
) -> None:
    """The ingest reports how many samples it handed over; finalize waits for that many."""
    updated = MediaSession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=ended_at or timezone.now(),
        samples_enqueued=samples_enqueued,
        close_reason=reason[:64],
    )
    if updated:
        logger.info("session %s closed (%s): %d samples", session_id, reason, samples_enqueued)


def media_session_attach_recording(*, session_id: uuid.UUID | str, name: str, stream) -> None:
    session = MediaSession.objects.get(pk=session_id)
    session.recording.save(name, File(stream), save=True)


def analysis_gaps_record(*, session_id: uuid.UUID | str, spans: list[tuple[float, float]]) -> None:
    """Samples the ingest had to drop become visible gaps, never a silent loss."""
    session = MediaSession.objects.select_related("attempt").get(pk=session_id)
    attempt = session.attempt
    merged = merge_spans([Span(start, end) for start, end in spans], gap=0.0)
    for span in merged:
        start, end = session.offset_s + span.start, session.offset_s + span.end
        Violation.for_span(
            attempt=attempt,
            type=ViolationType.ANALYSIS_GAP,
            start_s=start,
            end_s=end,
            details={"samples_dropped": len(spans)},
        ).save()
    logger.error(
        "session %s: %d samples not analysed (%d gaps)", session_id, len(spans), len(merged)
    )
