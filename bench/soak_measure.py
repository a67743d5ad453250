"""What the soak measures and when it passes: memory drift, sampling lag, queue, CPU, outcomes."""

from __future__ import annotations

from typing import Any

import psutil

from bench import cpu, report

FLAT_MB_PER_MIN = 2.0
WARMUP_FRACTION = 0.2
MEGABYTE = 2**20
PROCESSES = ("web", "media", "worker")
CPU_GROUPS = (*PROCESSES, "senders")
LOG_LINES_KEPT = 5
# "Bounded" sampling lag, after the warm-up: its p95 stays under LAG_BOUND_S and it does not grow
# by more than LAG_BOUND_S over the measured window (least-squares line through the per-sample
# median). About 1-2 s is normal: 1 frame/s sampling and 1 s audio windows, then the analysis.
LAG_BOUND_S = 5.0
# The machine is saturated when its busy cores (/proc/stat) average this share of all cores.
SATURATED_SHARE = 0.95


def rss_mb(pid: int, *, with_children: bool) -> float | None:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)] if with_children else [proc]
        return sum(p.memory_info().rss for p in procs if p.is_running()) / MEGABYTE
    except psutil.NoSuchProcess:
        return None


def tree(pid: int) -> list[int]:
    try:
        return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class CpuMeter:
    """Cores used by each group of processes, and by the whole machine, between two reads."""

    def __init__(self) -> None:
        self._last: dict[str, Any] | None = None

    def read(self, groups: dict[str, list[int]]) -> dict[str, float] | None:
        """Average cores since the previous read (None the first time); new pids count from 0."""
        now = cpu.snapshot(groups)
        last, self._last = self._last, now
        if last is None:
            return None
        return {name: round(value, 3) for name, value in cpu.cores(last, now).items()}


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
    """Least-squares slope of (seconds, value) points, per minute."""
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
        "sessions_lost": sessions_lost(attempts),
        "attempts": len(attempts),
        "scored": len(scored),
        "evidence_status": evidence,
        "stop_to_score_s": report.summary(stop_to_score) if stop_to_score else None,
        "observations": sum(a.observations.count() for a in attempts),
    }


def sessions_lost(attempts: list) -> int:
    """Media sessions that closed long before their attempt's stop and were never replaced:
    the replayed candidates do not reconnect as the agent does (the stop records the rest as
    offline)."""
    from proctoring.statuses import ViolationType

    lost = 0
    for attempt in attempts:
        if attempt.violations.filter(
            type=ViolationType.OFFLINE, details__reason="no media after the connection closed"
        ).exists():
            lost += 1
    return lost


# -- summaries over the samples -------------------------------------------------------------------


def window(args) -> tuple[float, float]:
    """While every agent streams, after the warm-up (the ramp plus WARMUP_FRACTION of the run),
    up to the first stop: stop and scoring are a burst of work, not drift."""
    return args.ramp_s + WARMUP_FRACTION * args.minutes * 60, args.minutes * 60


def steady(args, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start, end = window(args)
    return [s for s in samples if start <= s["t"] <= end]


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if value is not None else None


def memory_summary(args, samples: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name in PROCESSES:
        points = [(s["t"], s["rss_mb"][name]) for s in steady(args, samples)]
        points = [(t, mb) for t, mb in points if mb is not None]
        values = [s["rss_mb"][name] for s in samples if s["rss_mb"][name] is not None]
        slope = slope_per_min(points)
        out[name] = {
            "first_mb": _rounded(values[0], 1) if values else None,
            "last_mb": _rounded(values[-1], 1) if values else None,
            "max_mb": _rounded(max(values), 1) if values else None,
            "slope_mb_per_min": _rounded(slope),
            "flat": slope is not None and slope < FLAT_MB_PER_MIN,
            "fit_points": len(points),
        }
    return out


def _growth(points: list[tuple[float, float]]) -> float | None:
    """How much the least-squares line rises over the points' time span."""
    slope = slope_per_min(points)
    return slope * (points[-1][0] - points[0][0]) / 60 if slope is not None else None


def median(values: list[float]) -> float:
    return report.percentile(values, 50)


def _stats(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_s": _rounded(report.percentile(values, 50)) if values else None,
        "p95_s": _rounded(report.percentile(values, 95)) if values else None,
        "max_s": _rounded(max(values)) if values else None,
    }


def lag_summary(args, samples: list[dict[str, Any]]) -> dict[str, Any]:
    per_tick = [
        {"t": s["t"], "max": round(max(s["lags"]), 2), "median": round(median(s["lags"]), 2)}
        for s in samples
        if s["lags"]
    ]
    start, end = window(args)
    points = [(tick["t"], tick["median"]) for tick in per_tick if start <= tick["t"] <= end]
    calm = [lag for s in steady(args, samples) for lag in s["lags"]]
    growth = _growth(points)
    bounded = bool(calm) and report.percentile(calm, 95) <= LAG_BOUND_S
    bounded = bounded and growth is not None and growth <= LAG_BOUND_S
    return {
        "all": _stats([lag for s in samples for lag in s["lags"]]),
        "steady": _stats(calm),
        "steady_slope_s_per_min": _rounded(slope_per_min(points)),
        "steady_growth_s": _rounded(growth),
        "bounded": bounded,
        "per_tick": per_tick,
    }


def queue_summary(args, samples: list[dict[str, Any]]) -> dict[str, Any]:
    calm = [(s["t"], float(s["queue"])) for s in steady(args, samples)]
    every = [s["queue"] for s in samples]
    return {
        "max": max(every, default=None),
        "steady_median": median([q for _, q in calm]) if calm else None,
        "steady_max": max((q for _, q in calm), default=None),
        "steady_end": calm[-1][1] if calm else None,
        "steady_growth": _rounded(_growth(calm), 1),
    }


def cpu_summary(args, samples: list[dict[str, Any]]) -> dict[str, Any]:
    reads = [s["cores"] for s in steady(args, samples) if s["cores"] is not None]
    if not reads:
        return {"reads": 0}
    mean = {g: sum(r[g] for r in reads) / len(reads) for g in (*CPU_GROUPS, "machine")}
    stack = sum(mean[name] for name in PROCESSES)
    cores = psutil.cpu_count()
    return {
        "reads": len(reads),
        "cores": cores,
        "mean": {name: round(value, 2) for name, value in mean.items()},
        "machine_max": round(max(r["machine"] for r in reads), 2),
        "stack_per_agent": round(stack / args.agents, 4),
        "others": round(mean["machine"] - stack - mean["senders"], 2),
        "saturated": mean["machine"] >= SATURATED_SHARE * cores,
    }


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Pass only if every attempt was scored, memory flat, lag bounded and the logs clean."""
    agents, attempts, lag = result["config"]["agents"], result["attempts"], result["sampling_lag"]
    reasons = []
    if attempts["scored"] < agents:
        reasons.append(f"{attempts['scored']} of {agents} attempts scored")
    failed = result["agents_failed"]
    if failed:
        reasons.append(f"{len(failed)} agents failed, first: {failed[0].get('error')}")
    for name, mem in result["memory"].items():
        if not mem["flat"]:
            slope = mem["slope_mb_per_min"]
            reasons.append(
                f"{name} memory not flat ({slope} MB/min, limit {FLAT_MB_PER_MIN:g})"
                if slope is not None
                else f"{name} memory: too few samples after the warm-up to tell"
            )
    lost = attempts.get("sessions_lost", 0)
    if lost:
        reasons.append(
            f"{lost} of {agents} candidates lost their connection and never resumed (the replayed "
            f"candidates do not reconnect); each attempt got an offline violation up to its stop"
        )
    if not lag["bounded"]:
        cpu, queue = result["cpu"], result["queue"]
        busy = f"; machine {cpu['mean']['machine']} of {cpu['cores']} cores" if cpu["reads"] else ""
        cause = "lost connections stop sending (above)" if lost else "the node did not keep up"
        reasons.append(
            f"sampling lag not bounded (after warm-up p95 {lag['steady']['p95_s']} s, "
            f"growth {lag['steady_growth_s']} s; bound {LAG_BOUND_S:g} s): {cause} with "
            f"{agents} candidates (analysis queue rose by "
            f"{queue['steady_growth']} messages to {queue['steady_end']}{busy})"
        )
    for name, found in result["logs"].items():
        if found["errors"] or found["tracebacks"]:
            reasons.append(f"{name} log: {found['errors']} ERROR, {found['tracebacks']} Traceback")
    return {"pass": not reasons, "reasons": reasons}
