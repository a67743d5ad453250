"""From observations to incidents: per-sample findings, K-of-N smoothing, background, merging.

Pure functions over plain rows. The live path runs them on a few neighbouring samples as they
arrive; finalize and re-scoring run them over the whole attempt, so both agree by construction
and re-scoring never re-runs a model.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from proctoring.analysis.thresholds import Thresholds

NO_FACE = "no_face"
MULTIPLE_HUMANS = "multiple_humans"
SPEECH = "speech"
NOISE = "noise"
IMPERSONATION = "impersonation"
VIDEO, AUDIO = "video", "audio"


@dataclass(frozen=True)
class Row:
    stream: str  # the media session: smoothing never crosses sessions
    kind: str
    seq: int
    t: float  # seconds from the attempt's start
    duration: float
    data: dict[str, Any]
    finding: str = ""


@dataclass
class Incident:
    type: str
    start: float
    end: float
    details: dict[str, Any] = field(default_factory=dict)
    observations: int = 0


def video_finding(data: dict[str, Any], th: Thresholds) -> str:
    faces = [f for f in data.get("faces", []) if f.get("score", 1.0) >= th.face_score]
    if not faces:
        return NO_FACE
    if len(faces) > th.max_humans:
        return MULTIPLE_HUMANS
    # One face, compared with the enrolled candidate's (issue #18): a frame holds at most one
    # finding, and a different person is only judged where exactly one face is in view.
    return IMPERSONATION if identity_verdict(data, th) == "mismatch" else ""


def identity_verdict(data: dict[str, Any], th: Thresholds) -> str:
    """match, mismatch or uncertain for a frame whose face was compared; "" when none was."""
    checked = data.get("identity")
    if not isinstance(checked, dict) or checked.get("model") is None:
        return ""
    try:
        decision = th.identity(checked["model"])
    except ValueError:
        return "uncertain"  # a model this server no longer knows: never a violation
    return decision.verdict(checked.get("sim"), checked.get("quality") or {})


def is_speech(data: dict[str, Any], th: Thresholds) -> bool:
    # Windows recorded before the held-level check (issue #20) have no speech_held_s: they are
    # judged as they were, so re-scoring an old attempt does not drop its speech.
    held = data.get("speech_held_s")
    return (
        data.get("speech_prob_max", 0.0) >= th.speech_prob
        and data.get("speech_fraction", 0.0) >= th.speech_min_fraction
        and (held is None or held >= th.speech_min_held_s)
    )


def audio_finding(data: dict[str, Any], background: float | None, th: Thresholds) -> str:
    if is_speech(data, th):
        return SPEECH
    if background is None or data.get("dbfs", -100.0) < th.noise_min_dbfs:
        return ""
    levels = np.asarray(data.get("levels_dbfs", []), dtype=float)
    if levels.size == 0:
        return ""
    loud = float(np.mean(levels >= background + th.noise_over_background_db))
    return NOISE if loud >= th.noise_loud_fraction else ""


def next_background(
    background: float | None, data: dict[str, Any], *, elapsed_s: float, th: Thresholds
) -> float | None:
    """Update the background level with a non-speech window: fast while calibrating, then slow."""
    if is_speech(data, th):
        return background
    level = data.get("dbfs", -100.0)
    if background is None:
        return level
    calibrating = elapsed_s < th.background_calibration_s
    weight = th.background_fast_weight if calibrating else th.background_slow_weight
    return background + weight * (level - background)


def audio_findings(rows: list[Row], th: Thresholds) -> list[tuple[str, float | None]]:
    """(finding, background before it) for one session's audio windows, in sequence order."""
    out, background = [], None
    start = rows[0].t if rows else 0.0
    for row in rows:
        calibrated = row.t - start >= th.background_calibration_s
        out.append((audio_finding(row.data, background if calibrated else None, th), background))
        background = next_background(background, row.data, elapsed_s=row.t - start, th=th)
    return out


def window_for(finding: str, th: Thresholds) -> tuple[int, int]:
    if finding == SPEECH:
        return th.speech_k, th.speech_n
    if finding == NOISE:
        return th.noise_k, th.noise_n
    return th.video_k, th.video_n


def confirmed(flags: dict[int, str], seq: int, th: Thresholds) -> bool:
    """True when `seq`'s finding is backed by K of some N consecutive samples around it."""
    finding = flags.get(seq, "")
    if not finding:
        return False
    k, n = window_for(finding, th)
    for first in range(seq - n + 1, seq + 1):
        hits = sum(flags.get(s) == finding for s in range(first, first + n))
        if hits >= k:
            return True
    return False


def details_for(row: Row) -> dict[str, Any]:
    if row.finding == IMPERSONATION:
        checked = row.data.get("identity", {})
        similarity = round(float(checked.get("sim", 0.0)), 3)
        return {"min_similarity": similarity, "model": checked["model"]}
    if row.finding in (NO_FACE, MULTIPLE_HUMANS):
        return {"faces": int(row.data.get("count", 0))}
    if row.finding == SPEECH:
        return {"speech_prob": round(float(row.data.get("speech_prob_max", 0.0)), 4)}
    return {"dbfs": round(float(row.data.get("dbfs", 0.0)), 1)}


def merge_details(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Keep the worst value seen for every numeric detail (most faces, loudest level...; the
    lowest for a `min_` detail, such as the similarity of a different person)."""
    merged = dict(into)
    for key, value in new.items():
        old = merged.get(key)
        both_numbers = isinstance(value, int | float) and isinstance(old, int | float)
        worst = min if key.startswith("min_") else max
        merged[key] = worst(old, value) if both_numbers else merged.get(key, value)
    return merged


def with_findings(rows: Iterable[Row], th: Thresholds) -> list[Row]:
    """Recompute every row's finding under `th` (audio needs each session's order)."""
    by_stream: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        by_stream[(row.stream, row.kind)].append(row)
    out: list[Row] = []
    for (_, kind), stream_rows in by_stream.items():
        stream_rows.sort(key=lambda r: r.seq)
        if kind == AUDIO:
            found = [f for f, _ in audio_findings(stream_rows, th)]
        else:
            found = [video_finding(r.data, th) for r in stream_rows]
        out += [
            Row(**{**r.__dict__, "finding": f}) for r, f in zip(stream_rows, found, strict=True)
        ]
    return out


def confirmed_rows(rows: list[Row], th: Thresholds) -> list[Row]:
    """Rows whose (already computed) finding survives K-of-N smoothing within its session."""
    flags: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    for row in rows:
        flags[(row.stream, row.kind)][row.seq] = row.finding
    return [r for r in rows if confirmed(flags[(r.stream, r.kind)], r.seq, th)]


def incidents(
    rows: Iterable[Row], th: Thresholds, *, gap: float, recompute: bool = True
) -> list[Incident]:
    """The attempt's incidents: findings (recomputed under `th`, or as stored), smoothed, merged
    per type within `gap`. Stored findings need only the flagged rows."""
    judged = with_findings(rows, th) if recompute else [r for r in rows if r.finding]
    kept = sorted(confirmed_rows(judged, th), key=lambda r: (r.finding, r.t))
    out: list[Incident] = []
    for row in kept:
        last = out[-1] if out else None
        if last and last.type == row.finding and row.t <= last.end + gap:
            last.end = max(last.end, row.t + row.duration)
            last.details = merge_details(last.details, details_for(row))
            last.observations += 1
        else:
            out.append(Incident(row.finding, row.t, row.t + row.duration, details_for(row), 1))
    return sorted(out, key=lambda i: (i.start, i.type))
