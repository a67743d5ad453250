"""What the soak measures: process memory and its drift, sampling lag, outcomes, log problems."""

from __future__ import annotations

from typing import Any

import psutil

from bench import report

FLAT_MB_PER_MIN = 2.0
WARMUP_FRACTION = 0.2
MEGABYTE = 2**20
PROCESSES = ("web", "media", "worker")
LOG_LINES_KEPT = 5


def rss_mb(pid: int, *, with_children: bool) -> float | None:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)] if with_children else [proc]
        return sum(p.memory_info().rss for p in procs if p.is_running()) / MEGABYTE
    except psutil.NoSuchProcess:
        return None


def sampling_lags(prefix: str) -> list[float]:
    """For every attempt still streaming: now - start - end of its newest observation."""
    from django.db.models import F, Max
    from django.utils import timezone

    from proctoring.models import Attempt
    from proctoring.statuses import AttemptStatus

    now = timezone.now()
    rows = (
        Attempt.objects.filter(test_attempt_id__startswith=prefix, status=AttemptStatus.STARTED)
        .annotate(newest=Max(F("observations__attempt_time") + F("observations__duration_s")))
        .values_list("started_at", "newest")
    )
    return [(now - started).total_seconds() - (newest or 0.0) for started, newest in rows]


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (y - mean_y) for t, y in points)
    return cov / var * 60.0


def log_problems(text: str) -> dict[str, Any]:
    errors = [line for line in text.splitlines() if " ERROR " in line or ": ERROR/" in line]
    tracebacks = text.count("Traceback (most recent call last)")
    return {"errors": len(errors), "tracebacks": tracebacks, "first": errors[:LOG_LINES_KEPT]}


def attempt_outcomes(prefix: str) -> dict[str, Any]:
    from proctoring.models import Attempt, AttemptStatusChange
    from proctoring.statuses import AttemptStatus

    attempts = list(Attempt.objects.filter(test_attempt_id__startswith=prefix))
    scored = [
        a for a in attempts if a.status == AttemptStatus.STOPPED and a.trust_score is not None
    ]
    evidence: dict[str, int] = {}
    for attempt in scored:
        evidence[attempt.evidence_status] = evidence.get(attempt.evidence_status, 0) + 1
    changes = AttemptStatusChange.objects.filter(
        attempt__in=scored, to_status=AttemptStatus.STOPPED
    ).select_related("attempt")
    stop_to_score = [(c.at - c.attempt.stop_requested_at).total_seconds() for c in changes]
    return {
        "attempts": len(attempts),
        "scored": len(scored),
        "evidence_status": evidence,
        "stop_to_score_s": report.summary(stop_to_score) if stop_to_score else None,
        "observations": sum(a.observations.count() for a in attempts),
    }


def memory_summary(args, samples: list[dict[str, Any]]) -> dict[str, Any]:
    # Fitted while every agent streams, after the warm-up, up to the first stop (stop and
    # scoring are a burst of work, not drift).
    warmup = args.ramp_s + WARMUP_FRACTION * args.minutes * 60
    streaming_until = args.minutes * 60
    out = {}
    for name in PROCESSES:
        points = [
            (s["t"], s["rss_mb"][name])
            for s in samples
            if warmup <= s["t"] <= streaming_until and s["rss_mb"][name] is not None
        ]
        values = [s["rss_mb"][name] for s in samples if s["rss_mb"][name] is not None]
        slope = slope_per_min(points)
        out[name] = {
            "first_mb": round(values[0], 1) if values else None,
            "last_mb": round(values[-1], 1) if values else None,
            "max_mb": round(max(values), 1) if values else None,
            "slope_mb_per_min": round(slope, 2) if slope is not None else None,
            "flat": slope is not None and slope < FLAT_MB_PER_MIN,
            "fit_points": len(points),
        }
    return out


def lag_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    per_tick = [
        {"t": s["t"], "max": max(s["lags"]), "median": report.percentile(s["lags"], 50)}
        for s in samples
        if s["lags"]
    ]
    every = [lag for s in samples for lag in s["lags"]]
    return {
        "p50_s": round(report.percentile(every, 50), 2) if every else None,
        "p95_s": round(report.percentile(every, 95), 2) if every else None,
        "max_s": round(max(every), 2) if every else None,
        "per_tick": per_tick,
    }
