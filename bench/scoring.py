"""Stop-to-score latency: attempt_finalize on attempts of 10, 60 and 180 minutes of observations."""

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

from bench.report import fmt, percentile, summary, table

NAME = "scoring"
TITLE = "5. Stop-to-score latency (attempt_finalize, DB side)"
MINUTES = {"full": (10, 60, 180), "quick": (10, 60)}
RUNS = {"full": 20, "quick": 5}
TARGET_MINUTES = 180
TARGET_P95_S = 1.0
SEED = 6
SAMPLES_PER_SECOND = 1  # 1 video frame and 1 audio window per second, as the ingest samples
BULK_BATCH = 2000
# Violations per hour, with (min, max) seconds: a candidate who looks away now and then,
# talks a little, is sometimes joined by someone, with some background noise.
VIOLATION_MIX: dict[str, tuple[int, float, float]] = {
    "no_face": (40, 2.0, 12.0),
    "multiple_humans": (10, 2.0, 20.0),
    "speech": (80, 1.0, 6.0),
    "noise": (20, 1.0, 3.0),
}
CODES = {"no_face": 5001, "multiple_humans": 5002, "speech": 5004, "noise": 5004}
VIDEO_DATA = {"count": 1, "faces": [{"box": [212.4, 96.1, 405.9, 352.7], "score": 0.8312}]}
AUDIO_DATA = {
    "speech_prob_max": 0.031,
    "speech_prob_mean": 0.008,
    "speech_fraction": 0.0,
    "dbfs": -52.3,
    "duration_s": 1.0,
}


def violation_spans(minutes: int, rng: random.Random) -> list[tuple[str, float, float]]:
    """(type, start_s, end_s) of a realistic mix, sorted by start."""
    seconds = minutes * 60
    spans = []
    for kind, (per_hour, shortest, longest) in VIOLATION_MIX.items():
        for _ in range(max(1, round(per_hour * minutes / 60))):
            start = rng.uniform(0, seconds - longest)
            spans.append((kind, start, start + rng.uniform(shortest, longest)))
    return sorted(spans, key=lambda span: span[1])


def create_attempt(client: Any, minutes: int, rng: random.Random) -> Any:
    """A stopping attempt whose one closed session's samples are all observed."""
    from proctoring.models import Attempt, MediaSession, Violation
    from proctoring.statuses import AttemptStatus

    now = dt.datetime.now(dt.UTC)
    started = now - dt.timedelta(minutes=minutes)
    attempt = Attempt.objects.create(
        client=client,
        test_attempt_id=f"bench-score-{minutes}min",
        status=AttemptStatus.STOPPING,
        started_at=started,
        stop_requested_at=now,
        finished_at=now,
    )
    samples = minutes * 60 * SAMPLES_PER_SECOND
    session = MediaSession.objects.create(
        attempt=attempt, ended_at=now, samples_enqueued=2 * samples, close_reason="stop"
    )
    create_observations(attempt, session, samples)
    Violation.objects.bulk_create(
        Violation(
            attempt=attempt,
            type=kind,
            code=CODES[kind],
            start_s=start,
            end_s=end,
            started_at=started + dt.timedelta(seconds=start),
            ended_at=started + dt.timedelta(seconds=end),
            details={"faces": 2} if kind == "multiple_humans" else {},
            observation_count=max(1, round(end - start)),
        )
        for kind, start, end in violation_spans(minutes, rng)
    )
    return attempt


def create_attempt_violations(test_attempt_id: str, count: int) -> None:
    """Add `count` violations of the realistic mix to an existing attempt (for the API bench)."""
    from proctoring.models import Attempt, Violation

    attempt = Attempt.objects.get(test_attempt_id=test_attempt_id)
    now = dt.datetime.now(dt.UTC)
    spans = violation_spans(60, random.Random(SEED))[:count]
    Violation.objects.bulk_create(
        Violation(
            attempt=attempt,
            type=kind,
            code=CODES[kind],
            start_s=start,
            end_s=end,
            started_at=now + dt.timedelta(seconds=start),
            ended_at=now + dt.timedelta(seconds=end),
        )
        for kind, start, end in spans
    )


def create_observations(attempt: Any, session: Any, samples: int) -> None:
    from proctoring.models import Observation

    rows = [
        Observation(
            attempt=attempt,
            session=session,
            kind=kind,
            seq=seq,
            media_time=float(seq),
            attempt_time=float(seq),
            duration_s=1.0,
            data=data,
        )
        for seq in range(samples)
        for kind, data in (("video", VIDEO_DATA), ("audio", AUDIO_DATA))
    ]
    Observation.objects.bulk_create(rows, batch_size=BULK_BATCH)


def analyze_tables() -> None:
    """Planner statistics, as autovacuum would have them on a database in service."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE proctoring_observation, proctoring_violation, proctoring_attempt")


def reset_to_stopping(attempt_id: int) -> None:
    """Undo the previous finalize with a direct update (a benchmark shortcut, not a service)."""
    from proctoring.models import Attempt, AttemptStatusChange

    Attempt.objects.filter(pk=attempt_id).update(
        status="stopping", trust_score=None, score_version="", score_breakdown={}
    )
    AttemptStatusChange.objects.filter(attempt_id=attempt_id).delete()


def time_call(call: Callable[[], Any], runs: int, before: Callable[[], Any] = lambda: None) -> list:
    seconds = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def stats(seconds: list[float]) -> dict[str, Any]:
    """Milliseconds: median/min/max plus p50 and p95."""
    ms = [s * 1000 for s in seconds]
    return {**summary(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95)}


def measure(attempt: Any, runs: int) -> dict[str, Any]:
    import trust_score
    from proctoring.models import Attempt
    from proctoring.selectors import attempts as selectors
    from proctoring.selectors.violations import attempt_violations
    from proctoring.services.scoring import attempt_finalize

    spans = [
        trust_score.ViolationSpan(type=v.type, start_s=v.start_s, end_s=v.end_s)
        for v in attempt_violations(attempt=attempt)
    ]
    test_seconds = (attempt.finished_at - attempt.started_at).total_seconds()
    attempt_finalize(attempt_id=attempt.pk)  # warm-up: connection, caches
    finalize = time_call(
        lambda: attempt_finalize(attempt_id=attempt.pk), runs, lambda: reset_to_stopping(attempt.pk)
    )
    assert Attempt.objects.get(pk=attempt.pk).status == "stopped", "finalize did not score"
    pending = time_call(lambda: selectors.attempt_analysis_pending(attempt=attempt), runs)
    fetch = time_call(lambda: list(attempt_violations(attempt=attempt)), runs)
    pure = time_call(lambda: trust_score.score(violations=spans, test_seconds=test_seconds), runs)
    return {
        "violations": len(spans),
        "observations": attempt.observations.count(),
        "finalize_ms": stats(finalize),
        "pending_query_ms": stats(pending),
        "violation_fetch_ms": stats(fetch),
        "trust_score_ms": stats(pure),
    }


def run(mode: str) -> dict[str, Any]:
    from proctoring.services.clients import client_create

    rng = random.Random(SEED)
    client = client_create(name="bench scoring").client
    results = {}
    for minutes in MINUTES[mode]:
        attempt = create_attempt(client, minutes, rng)
        analyze_tables()
        results[str(minutes)] = measure(attempt, RUNS[mode])
    return {"runs": RUNS[mode], "attempts": results}


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for minutes, r in result["attempts"].items():
        fin, pure = r["finalize_ms"], r["trust_score_ms"]
        rows.append(
            [
                f"{minutes} min",
                f"{r['observations']:,} / {r['violations']}",
                f"{fmt(fin['p50'])} / {fmt(fin['p95'])}",
                f"{fmt(fin['min'])}–{fmt(fin['max'])}",
                f"{fmt(r['pending_query_ms']['p50'])}",
                f"{fmt(r['violation_fetch_ms']['p50'])}",
                f"{fmt(pure['p50'])} / {fmt(pure['p95'])}",
            ]
        )
    header = [
        "attempt",
        "observations / violations",
        "finalize p50 / p95 ms",
        "finalize min–max ms",
        "pending-analysis query p50 ms",
        "violation fetch p50 ms",
        "baseline: `trust_score.score` p50 / p95 ms",
    ]
    return f"{result['runs']} runs per attempt.\n\n" + table(header, rows)


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    attempt = result["attempts"].get(str(TARGET_MINUTES))
    if attempt is None:
        return []
    p95_s = attempt["finalize_ms"]["p95"] / 1000
    return [
        (
            f"stop-to-score p95 ≤ {TARGET_P95_S:g} s for a {TARGET_MINUTES // 60}-hour attempt",
            f"{p95_s * 1000:.0f} ms (DB-side finalize)",
            p95_s <= TARGET_P95_S,
        )
    ]
