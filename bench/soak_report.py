"""The soak's figures: a summary on the terminal and its section of docs/benchmarks.md."""

from __future__ import annotations

import math
from typing import Any

from bench import env, report

DOC = env.ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- soak:results:start -->"
END_MARK = "<!-- soak:results:end -->"
# The issue's soak; anything smaller is labelled a short run.
ISSUE_AGENTS, ISSUE_MINUTES = 50, 10.0
TIMELINE_ROWS = 12
PERCENT = 100.0


def _n(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{report.fmt(value)}{unit}"


def _media(cfg: dict[str, Any]) -> str:
    media = cfg["media"]
    return (
        f"camera 640x480 at {cfg['fps']:g} fps, {_n(media['camera']['kbps'])} kbps "
        f"(cap {media['target_bitrate'] // 1000} kbps); microphone "
        f"{_n(media['microphone']['kbps'])} kbps in {media['audio_frame_ms']} ms Opus packets; "
        f"screen 1920x1080 at "
        f"{_n(media['screen']['frames_per_s'])} frame/s, {_n(media['screen']['kbps'])} kbps"
    )


def _figures(result: dict[str, Any]) -> list[list[str]]:
    cfg, attempts, agents = result["config"], result["attempts"], result["agents"]
    lag, queue, cpu = result["sampling_lag"], result["queue"], result["cpu"]
    evidence = ", ".join(f"{k} {v}" for k, v in attempts["evidence_status"].items()) or "-"
    server_stop = attempts["stop_to_score_s"]
    agent_stop = agents["stop_s"]
    rows = [
        ["attempts scored", f"{attempts['scored']} / {cfg['agents']} (evidence: {evidence})"],
        [
            "candidates whose connection was lost and never resumed",
            f"{attempts.get('sessions_lost', 0)} / {cfg['agents']}",
        ],
        [
            "agents that got their score from stop",
            f"{agents['ok']} / {cfg['agents']}"
            + (
                f"; stop → score as the agent saw it: median {_n(agent_stop['median'], ' s')}, "
                f"max {_n(agent_stop['max'], ' s')}"
                if agent_stop
                else ""
            ),
        ],
        [
            "stop request → scored (server)",
            f"median {_n(server_stop['median'], ' s')}, max {_n(server_stop['max'], ' s')}"
            if server_stop
            else "-",
        ],
        [
            "sampling lag after warm-up, p50 / p95 / max",
            f"{_n(lag['steady']['p50_s'])} / {_n(lag['steady']['p95_s'])} / "
            f"{_n(lag['steady']['max_s'])} s; grew {_n(lag['steady_growth_s'], ' s')} over the "
            f"window (bound {cfg['lag_bound_s']:g} s); whole run max "
            f"{_n(lag['all']['max_s'], ' s')}",
        ],
        [
            "analysis queue after warm-up, median / max / at the end",
            f"{_n(queue['steady_median'])} / {_n(queue['steady_max'])} / "
            f"{_n(queue['steady_end'])} messages; rose {_n(queue['steady_growth'])} over the "
            f"window (whole run max {_n(queue['max'])})",
        ],
    ]
    if cpu["reads"]:
        mean = cpu["mean"]
        stack = sum(mean[name] for name in ("web", "media", "worker"))
        rows += [
            [
                "machine CPU after warm-up",
                f"{_n(mean['machine'])} of {cpu['cores']} cores (max {_n(cpu['machine_max'])})"
                + ("; **saturated**" if cpu["saturated"] else "")
                + f"; 1-min load max {_n(result['load_1min_max'])}",
            ],
            [
                "node CPU (web + media + worker)",
                f"{_n(stack)} cores: web {_n(mean['web'])}, media {_n(mean['media'])}, worker "
                f"{_n(mean['worker'])}; {_n(cpu['stack_per_agent'] * PERCENT)} % of a core per "
                "candidate",
            ],
            ["senders CPU (the candidates' machines)", f"{_n(mean['senders'])} cores"],
            ["other processes (PostgreSQL, Redis, neighbours)", f"{_n(cpu['others'])} cores"],
        ]
    logs = ", ".join(f"{k} {v['errors']} / {v['tracebacks']}" for k, v in result["logs"].items())
    rows.append(["ERROR / Traceback lines in the logs", logs])
    return rows


def _memory(result: dict[str, Any]) -> str:
    rows = [
        [
            name,
            _n(mem["first_mb"]),
            _n(mem["last_mb"]),
            _n(mem["max_mb"]),
            f"{_n(mem['slope_mb_per_min'])} ({mem['fit_points']} samples)",
            "flat" if mem["flat"] else "**not flat**",
        ]
        for name, mem in result["memory"].items()
    ]
    header = ["RSS (MB)", "first", "last", "max", "slope after warm-up, MB/min", ""]
    return report.table(header, rows)


def _timeline(samples: list[dict[str, Any]]) -> str:
    step = max(1, math.ceil(len(samples) / TIMELINE_ROWS))
    picked = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    rows = []
    for s in picked:
        lags, rss = s["lags"], s["rss_mb"]
        lag = f"{report.percentile(lags, 50):.1f} / {max(lags):.1f}" if lags else "-"
        rows.append(
            [
                f"{s['t']:.0f}",
                len(lags),
                lag,
                s["queue"],
                _n(s["cores"]["machine"]) if s["cores"] else "-",
                " / ".join(_n(rss[name]) for name in ("web", "media", "worker")),
            ]
        )
    header = ["t (s)", "streaming", "lag median / max (s)", "queue", "machine cores"]
    header.append("RSS web / media / worker (MB)")
    return report.table(header, rows)


def markdown(result: dict[str, Any]) -> str:
    cfg, machine, verdict = result["config"], result["machine"], result["verdict"]
    parts = [
        f"_{result['date']}: `{cfg['command']}` on {machine['cores']} cores of "
        f"`{machine['cpu_model']}` ({machine['memory_gb']} GB). {cfg['agents']} candidates × "
        f"{cfg['minutes']:g} min (started over {cfg['ramp_s']:g} s), pre-encoded in "
        f"{cfg['processes']} sender process(es); {_media(cfg)}; {cfg['worker_concurrency']} "
        f"prefork workers, finalize bound {cfg['finalize_bound_s']:g} s._"
    ]
    if cfg["agents"] < ISSUE_AGENTS or cfg["minutes"] < ISSUE_MINUTES:
        parts.append(f"A short run, not the issue's {ISSUE_AGENTS} × {ISSUE_MINUTES:g} soak.")
    if verdict["pass"]:
        parts.append("**Verdict: passed.**")
    else:
        parts.append("**Verdict: failed.**\n\n" + "\n".join(f"- {r}" for r in verdict["reasons"]))
    parts.append(report.table(["", "measured"], _figures(result)))
    parts.append(_memory(result))
    parts.append(
        "Over time (`bench/results/soak.json` has every sample):\n\n" + _timeline(result["samples"])
    )
    return "\n\n".join(parts)


def write_doc(result: dict[str, Any]) -> None:
    text = DOC.read_text()
    start, end = text.index(START_MARK) + len(START_MARK), text.index(END_MARK)
    DOC.write_text(text[:start] + "\n" + markdown(result) + "\n" + text[end:])


def print_summary(result: dict[str, Any]) -> None:
    cfg = result["config"]
    print(f"soak: {cfg['agents']} agents x {cfg['minutes']:g} min, {cfg['processes']} senders")
    for name, value in _figures(result):
        print(f"  {name}: {value}".replace("**", ""))
    for name, mem in result["memory"].items():
        print(
            f"  {name}: RSS {mem['first_mb']} -> {mem['last_mb']} MB (max {mem['max_mb']}), "
            f"slope {mem['slope_mb_per_min']} MB/min over {mem['fit_points']} samples"
        )
    verdict = result["verdict"]
    print("  verdict: " + ("PASSED" if verdict["pass"] else "FAILED"))
    for reason in verdict["reasons"]:
        print(f"    - {reason}")
    print(f"  logs kept in {result['log_dir']}")
