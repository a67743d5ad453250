"""Observations: record what the models saw in each sample (once, whatever the redeliveries),
judge it, and hand the flagged ones to the violations they confirm."""

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from proctoring import media_rpc
from proctoring.analysis import findings
from proctoring.analysis.thresholds import Thresholds
from proctoring.models import Attempt, MediaSession, Observation, ObservationKind
from proctoring.selectors.attempts import attempt_thresholds
from proctoring.services import violations
from proctoring.services.observed import ObservationKey, Observed, Sample, observation_key
from proctoring.statuses import AttemptStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Judged:
    observed: Observed
    session: MediaSession
    thresholds: Thresholds
    finding: str


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


def failed_observed(*, kind: str, sample: Sample, error: Exception) -> Observed:
    """A sample the analysis failed on: recorded (so finalize does not wait for it) but never
    counted as analysed, so its time is an analysis gap of its own attempt."""
    logger.error(
        "session %s: %s sample %d not analysed: %r", sample.session_id, kind, sample.seq, error
    )
    return Observed(kind=kind, sample=sample, data={"failed": type(error).__name__})


def _judge(observed: Sequence[Observed]) -> list[_Judged]:
    """Each sample's finding; a session's samples in seq order, audio after the window before."""
    contexts = _session_contexts({str(o.sample.session_id) for o in observed})
    present = [o for o in observed if str(o.sample.session_id) in contexts]
    ordered = sorted(present, key=lambda o: (str(o.sample.session_id), o.kind, o.sample.seq))
    previous = _audio_before(ordered)
    judged = []
    for item in ordered:
        session, th = contexts[str(item.sample.session_id)]
        try:
            judged.append(_Judged(item, session, th, _finding(item, previous, th)))
        except Exception as exc:  # a poison sample, or its attempt's thresholds: its own gap
            failed = failed_observed(kind=item.kind, sample=item.sample, error=exc)
            judged.append(_Judged(failed, session, th, ""))
    return judged


def _finding(item: Observed, previous: dict[str, dict[str, Any]], th: Thresholds | None) -> str:
    if "failed" in item.data:
        return ""
    if th is None:
        raise ValueError("the attempt's thresholds are invalid")
    if item.kind == ObservationKind.VIDEO:
        return findings.video_finding(item.data, th)
    session_id = str(item.sample.session_id)
    finding = _audio_finding(item, previous.get(session_id), th)
    previous[session_id] = item.data
    return finding


def _session_contexts(session_ids: set[str]) -> dict[str, tuple[MediaSession, Thresholds | None]]:
    """Each session with its attempt, client and thresholds, loaded once for the whole batch.
    Thresholds that do not validate are None: that attempt's samples fail, no one else's."""
    sessions = MediaSession.objects.select_related("attempt__client").in_bulk(session_ids)
    for missing in session_ids - {str(pk) for pk in sessions}:
        # Deleted since the sample was sent (its attempt was purged): nothing to record it on.
        logger.warning("session %s no longer exists: its samples are not recorded", missing)
    return {str(pk): (session, _thresholds(session.attempt)) for pk, session in sessions.items()}


def _thresholds(attempt: Attempt) -> Thresholds | None:
    try:
        return attempt_thresholds(attempt=attempt)
    except ValueError:
        logger.error("attempt %s: its thresholds do not validate", attempt.pk)
        return None


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


def _flags_nearby(items: Sequence[_Judged]) -> dict[tuple[str, str], list[Observation]]:
    """Every flagged observation within reach of the items, by stream: one query for the batch."""
    nearby: dict[tuple[str, str], list[Observation]] = defaultdict(list)
    if not items:
        return nearby
    query = Q()
    for item in items:
        reach, seq = violations.flag_reach(item.thresholds), item.observed.sample.seq
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
    session, observed = item.session, item.observed
    seq_confirmed = violations.violations_confirm_around(
        attempt=attempt,
        session=session,
        kind=observed.kind,
        seq=observed.sample.seq,
        th=item.thresholds,
        stream_flags=stream_flags,
        evidence=observed.evidence,
    )
    if observed.kind == ObservationKind.VIDEO and not seq_confirmed:
        _request_early_sample(session)


def _request_early_sample(session: MediaSession) -> None:
    """A flagged frame that K-of-N cannot confirm yet: the ingest samples the next frame now.

    Waiting for the sampling grid would add a whole interval to the violation's latency.
    """
    if session.ingest_node and session.ended_at is None:
        transaction.on_commit(
            lambda: media_rpc.request_early_sample(node=session.ingest_node, session_id=session.pk),
            robust=True,  # a lost request costs latency only: the grid's sample still comes
        )
