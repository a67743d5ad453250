"""Ingest capacity: N concurrent pre-encoded candidates into ONE media process (issue item 2)."""

import tempfile
from pathlib import Path
from typing import Any

from agent.tracks import DEFAULT_MAX_FPS, RECORDING_MAX_FPS
from bench import capacity, senders
from bench.report import fmt, table

NAME = "ingest_capacity"
TITLE = "2. Ingest capacity (concurrent candidates into one media process)"
# The agent's defaults (2 fps camera, 120 ms Opus, screen every 5 s), then baselines measured in
# the same run: 5 fps at 300 kbps (a recorded session, and the default before 2026-11-26),
# aiortc's own 20 ms Opus packets, the encoder before the agent capped it, and 15 fps.
DEFAULTS = f"{DEFAULT_MAX_FPS:g} fps (defaults)"
RAMPS = {
    "full": [
        # Up to the first N that does not keep up (a fast host keeps up far past 24).
        capacity.Ramp(fps=DEFAULT_MAX_FPS, steps=[6, 12, 18, 24, 36, 48, 60, 72, 84, 96],
                      window_s=10, warmup_s=4, stop_at_first_failure=True, label=DEFAULTS),
        capacity.Ramp(fps=RECORDING_MAX_FPS, steps=[12], window_s=10, warmup_s=4,
                      bitrate=senders.RECORDING_VIDEO_BITRATE, label="5 fps, 300 kbps"),
        capacity.Ramp(fps=DEFAULT_MAX_FPS, steps=[12], window_s=10, warmup_s=4,
                      audio_frame_ms=senders.AIORTC_AUDIO_FRAME_MS, label="2 fps, 20 ms Opus"),
        capacity.Ramp(fps=RECORDING_MAX_FPS, steps=[12], window_s=10, warmup_s=4,
                      bitrate=senders.UNCAPPED_VIDEO_BITRATE, label="5 fps, uncapped 1.5 Mbps"),
        capacity.Ramp(fps=15, steps=[12], window_s=10, warmup_s=4,
                      bitrate=senders.RECORDING_VIDEO_BITRATE, label="15 fps, 300 kbps"),
    ],
    "quick": [
        capacity.Ramp(fps=DEFAULT_MAX_FPS, steps=[4, 12], window_s=6, warmup_s=3, label=DEFAULTS),
        capacity.Ramp(fps=15, steps=[8], window_s=6, warmup_s=3, label="15 fps"),
    ],
}  # fmt: skip
ONE_EVENT_LOOP = 1.0  # cores: the media process' asyncio loop is one thread


def per_stream(step: dict[str, Any], idle: dict[str, Any]) -> dict[str, float]:
    n = max(step["ready"], 1)  # the streams that connected
    media_cores = step["cores"]["media"] - idle["cores"]["media"]
    return {
        "media_core_pct": 100 * media_cores / n,
        "rss_mb": (step["media_rss_mb"] - idle["media_rss_mb"]) / n,
        "sender_core_pct": 100 * step["cores"]["senders"] / n,
    }


def summarise(ramp: dict[str, Any]) -> dict[str, Any]:
    steps, idle = ramp["steps"], ramp["idle"]
    for step in steps:
        step["per_stream"] = per_stream(step, idle)
    best = capacity.largest_ok(steps)
    # CPU per stream is the media process' own cost: read at the largest unsaturated N.
    top = capacity.cost_step(steps)
    cost = top["per_stream"]["media_core_pct"]
    failure = next(({"n": s["n"], "why": s["why_not"]} for s in steps if not s["keeps_up"]), None)
    return {
        "largest_n_keeping_up": best["n"] if best else 0,
        "first_failure": failure,
        "cost_at_n": top["n"],
        "media_core_pct_per_stream": cost,
        "rss_mb_per_stream": top["per_stream"]["rss_mb"],
        "cost_saturated": capacity.saturated(top),
        # One event loop saturates at 1 core: where this process would stop on a free machine.
        "one_loop_projection": round(100 * ONE_EVENT_LOOP / cost) if cost > 0 else None,
    }


def run(mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        ramps = [capacity.run_ramp(ramp, Path(tmp)) for ramp in RAMPS[mode]]
    for ramp in ramps:
        ramp["summary"] = summarise(ramp)
    return {"ramps": ramps}


def _pair(stats: dict | None, key_a: str, key_b: str) -> str:
    stats = stats or {}
    return f"{fmt(stats.get(key_a))} / {fmt(stats.get(key_b))}"


def _step_row(ramp: dict[str, Any], step: dict[str, Any]) -> list[Any]:
    obs, ps, cores = step["observations"], step["per_stream"], step["cores"]
    rate, lag, queue = obs["rate_per_session"], obs["lag_s"], step["queue"]
    video_rate = fmt(rate.get("video", {}).get("min"))
    audio_rate = fmt(rate.get("audio", {}).get("min"))
    return [
        ramp["label"],
        f"{step['n']} ({step['ready']} up)",
        f"{fmt(100 * cores['media'])} ({fmt(ps['media_core_pct'])}/stream)",
        f"{fmt(step['media_rss_mb'])} ({fmt(ps['rss_mb'])}/stream)",
        f"{video_rate} / {audio_rate}",
        _pair(lag["video"], "p50", "p95"),
        _pair(lag["audio"], "p50", "p95"),
        f"{queue['start']}→{queue['end']} (max {queue['max']})",
        "yes" if step["keeps_up"] else "**no**: " + "; ".join(step["why_not"]),
        f"{fmt(100 * cores['machine'])} (senders {fmt(100 * cores['senders'])})",
    ]


def _media_row(ramp: dict[str, Any]) -> list[Any]:
    def track(name: str, unit: str) -> str:
        info = ramp["media"][name]
        return f"{fmt(info['kbps'])} kbps, {fmt(info['frames_per_s'])} {unit}"

    screen = track("screen", "frame/s") if ramp["screen"] else "none"
    return [ramp["label"], track("camera", "frames/s"), track("microphone", "frames/s"), screen]


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for ramp in result["ramps"]:
        ramp["summary"] = summarise(ramp)
        idle = ramp["idle"]
        idle_media, idle_machine = (
            fmt(100 * idle["cores"]["media"]),
            fmt(100 * idle["cores"]["machine"]),
        )
        rows.append(
            [f"{ramp['label']}: idle stack", 0, idle_media, fmt(idle["media_rss_mb"])]
            + ["-"] * 5
            + [idle_machine]
        )
        rows += [_step_row(ramp, step) for step in ramp["steps"]]
    header = [
        "sender",
        "N",
        "media process CPU % of a core",
        "media RSS MB",
        "obs/s per session, min (video / audio; expected 1 / 1)",
        "video lag p50 / p95 s",
        "audio lag p50 / p95 s",
        "analysis queue start→end",
        "keeps up",
        "machine CPU % (of 200)",
    ]
    summary_rows = [
        [
            ramp["label"],
            ramp["summary"]["largest_n_keeping_up"],
            (ramp["summary"]["first_failure"] or {}).get("n", "none in the ramp"),
            f"{fmt(ramp['summary']['media_core_pct_per_stream'])} "
            f"(N={ramp['summary']['cost_at_n']}"
            + (", machine saturated: a floor)" if ramp["summary"]["cost_saturated"] else ")"),
            fmt(ramp["summary"]["rss_mb_per_stream"]),
            ramp["summary"]["one_loop_projection"] or "-",
        ]
        for ramp in result["ramps"]
    ]
    summary_header = [
        "sender",
        "largest N keeping up (shared machine, senders included)",
        "first N that did not",
        "media CPU % of a core per stream",
        "media RSS MB per stream",
        "N at which the media process would use a whole core",
    ]
    return "\n\n".join(
        [
            table(summary_header, summary_rows),
            table(header, rows),
            "What each sender streamed (pre-encoded once with aiortc's VP8 encoder and the agent's "
            "Opus encoder at the agent's settings unless stated: camera capped at 150 kbps at "
            "2 fps, 120 ms Opus packets, the screen sent every 5 s):",
            table(
                ["sender", "camera 640x480 VP8", "microphone Opus", "screen 1920x1080 VP8"],
                [_media_row(ramp) for ramp in result["ramps"]],
            ),
        ]
    )


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    # The issue sets no ingest target of its own; item 3 carries the candidates-per-core target.
    return []
