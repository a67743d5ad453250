"""`python -m bench.soak [--agents 50] [--minutes 10] [--fps 2]`: many candidates, one node, long.

Starts the real stack (web, media, one Celery worker) on its own PostgreSQL database
(`proctoring_soak`) and its own Redis (a `redis-server` on a free loopback port). The candidates
are bench/senders.py's pre-encoded replays, so that they stay cheap: the agent's media is encoded
once with aiortc's encoders (camera 640x480 at `--fps` capped at the agent's bitrate, the
microphone in `--audio-frame-ms` Opus packets, a 1920x1080 screen every 5 s), then sent as
packets over real peer connections,
`--per-process` streams per niced sender process. Each candidate starts its attempt as the agent
does (HMAC, `POST /api/v1/agent/sessions/`), streams for `--minutes`, then stops as the agent
does (tracks stopped, flush, `POST /api/v1/agent/stop/`, status polled until scored, within the
agent's STOP_DEADLINE_S).

Every `--sample-s` seconds it records the RSS of web, media and worker (with its pool children),
the sampling lag (for each streaming attempt, how far its newest observation trails real time),
the analysis queue length and the CPU of each process group and of the machine. At the end it
waits (bounded) for every attempt to be scored, greps the stack's logs for ERROR and Traceback,
writes bench/results/soak.json and the soak section of docs/benchmarks.md, and gives a verdict
(bench/soak_measure.py: what passes). The exit status is 0 only if the soak passes.
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.lifecycle import FLUSH_DELAY_S, STOP_DEADLINE_S
from agent.tracks import DEFAULT_MAX_FPS
from agent.webrtc import DEFAULT_AUDIO_FRAME_MS, OPUS_FRAME_MS
from bench import cpu, env, report, senders, soak_report
from bench.capacity import Senders
from bench.soak_measure import (
    CPU_GROUPS,
    FLAT_MB_PER_MIN,
    LAG_BOUND_S,
    PROCESSES,
    CpuMeter,
    attempt_outcomes,
    cpu_summary,
    lag_summary,
    log_problems,
    memory_summary,
    queue_summary,
    rss_mb,
    sampling_lags,
    tree,
    verdict,
)

SOAK_DB_NAME = "proctoring_soak"
SOAK_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{SOAK_DB_NAME}"
RESULTS = env.ROOT / "bench" / "results" / "soak.json"
# Finalize's bound, as deployed by default; after the agents stop, attempts get this long to score.
FINALIZE_BOUND_S = 120.0
SETTLE_SLACK_S = 30.0
# Sender processes end by themselves after the ramp, the streaming and the agent's stop; this is
# their margin (process start, connection) before the coordinator stops them.
SENDER_SLACK_S = 60.0
REDIS_READY_S = 10.0
POLL_S = 0.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0, help="streaming time per agent")
    parser.add_argument(
        "--fps",
        type=float,
        default=DEFAULT_MAX_FPS,
        help=f"camera frames/s (agent: {DEFAULT_MAX_FPS:g})",
    )
    parser.add_argument(
        "--audio-frame-ms",
        type=int,
        default=DEFAULT_AUDIO_FRAME_MS,
        choices=OPUS_FRAME_MS,
        help=f"Opus per packet (agent: {DEFAULT_AUDIO_FRAME_MS})",
    )
    parser.add_argument("--per-process", type=int, default=8, help="streams per sender process")
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="integrators the agents belong to (1: every candidate takes the same exam)",
    )
    parser.add_argument("--ramp-s", type=float, default=20.0, help="agents start over this time")
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--no-docs", action="store_true", help="do not rewrite the soak section of the docs"
    )
    return parser.parse_args(argv)


# -- the node: database, Redis, stack ------------------------------------------------------------


def soak_env(redis_url: str, **overrides: str) -> dict[str, str]:
    return env.bench_env(
        DATABASE_URL=SOAK_DATABASE_URL,
        REDIS_URL=redis_url,
        PROCTOR_LOG_LEVEL="INFO",
        PROCTOR_FINALIZE_TIMEOUT_S=str(FINALIZE_BOUND_S),
        **overrides,
    )


def prepare_database(redis_url: str) -> None:
    """Its own database (never the product's or the other benchmarks'), migrated and empty."""
    import psycopg

    with psycopg.connect(env.PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (SOAK_DB_NAME,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{SOAK_DB_NAME}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=env.ROOT,
        env=soak_env(redis_url),
        check=True,
        timeout=env.MIGRATE_TIMEOUT_S,
    )
    os.environ.update(soak_env(redis_url))
    import django

    django.setup()
    from django.db import connection

    assert connection.settings_dict["NAME"] == SOAK_DB_NAME
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE %s",
            (env.PROCTORING_TABLE_PREFIX + "%",),
        )
        tables = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def start_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    import redis

    from scripts.stack import free_port

    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + REDIS_READY_S
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, host="127.0.0.1", socket_timeout=1).ping():
                return proc, f"redis://127.0.0.1:{port}/0"
        except redis.RedisError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("redis-server did not start")


# -- the candidates -------------------------------------------------------------------------------


def sender_bound_s(args: argparse.Namespace) -> float:
    """How long a sender process may run: ramp, streaming, the agent's stop, and a margin."""
    return args.ramp_s + args.minutes * 60 + FLUSH_DELAY_S + STOP_DEADLINE_S + SENDER_SLACK_S


def stream_specs(args: argparse.Namespace, prefix: str) -> list[dict[str, Any]]:
    """One stream per agent: its attempt id, HMAC, integrator and start time in the ramp."""
    from proctoring import signing
    from proctoring.services.clients import client_create

    clients = [client_create(name=f"Soak {n}") for n in range(max(1, args.clients))]
    streams = []
    for i in range(args.agents):
        client = clients[i % len(clients)]
        attempt_id = f"{prefix}{i:03d}"
        hashed = signing.hash_test_attempt_id(
            client_secret=client.client_secret, test_attempt_id=attempt_id
        )
        streams.append(
            {
                "attempt_id": attempt_id,
                "hashed": hashed,
                "client_id": client.client.client_id,
                "delay_s": args.ramp_s * i / max(1, args.agents),
            }
        )
    return streams


def write_specs(args, stack, prefix: str, media_path: Path, work: Path) -> list[Path]:
    """Sender specs; agents go round-robin to the processes, so each one ramps up evenly."""
    streams = stream_specs(args, prefix)
    count = math.ceil(len(streams) / max(1, args.per_process))
    paths = []
    for index in range(count):
        mine = streams[index::count]
        spec = {
            "server": {"url": stack.url, "client_id": mine[0]["client_id"]},
            "media": str(media_path),
            "screen": True,
            "duration_s": args.minutes * 60,
            "stop_deadline_s": STOP_DEADLINE_S,
            "max_s": sender_bound_s(args),
            "streams": mine,
        }
        path = work / f"senders_{index}.json"
        path.write_text(json.dumps(spec))
        paths.append(path)
    return paths


def unscored(prefix: str) -> int:
    from proctoring.models import Attempt
    from proctoring.statuses import AttemptStatus

    attempts = Attempt.objects.filter(test_attempt_id__startswith=prefix)
    return attempts.exclude(status=AttemptStatus.STOPPED).count()


# -- the run --------------------------------------------------------------------------------------


def take_sample(stack, group: Senders, prefix: str, meter: CpuMeter, broker, t: float) -> dict:
    cpu_groups = {name: tree(stack.processes[name].pid) for name in PROCESSES}
    cpu_groups["senders"] = [p.pid for p in group.procs if p.poll() is None]
    sample = {
        "t": round(t, 1),
        "rss_mb": {
            name: rss_mb(stack.processes[name].pid, with_children=name == "worker")
            for name in PROCESSES
        },
        "lags": [round(lag, 3) for lag in sampling_lags(prefix)],
        "queue": cpu.queue_length(broker),
        "cores": meter.read(cpu_groups),
        # The machine may be shared: a load above its cores explains a growing lag.
        "load_1min": os.getloadavg()[0],
    }
    rss = " ".join(f"{k}={v:.0f}MB" for k, v in sample["rss_mb"].items() if v is not None)
    lag = f"lag max {max(sample['lags']):.1f} s" if sample["lags"] else "no attempt streaming"
    busy = f"machine {sample['cores']['machine']:.2f} cores" if sample["cores"] else ""
    print(f"[soak] t={t:.0f}s {rss} {lag} queue {sample['queue']} {busy}", file=sys.stderr)
    return sample


def watch(args, stack, group: Senders, specs: list[Path], prefix: str, redis_url: str) -> dict:
    """Start the senders, then sample until they end and every attempt is scored (bounded)."""
    import redis

    broker = redis.Redis.from_url(redis_url)
    meter = CpuMeter()
    began = time.monotonic()
    for path in specs:
        group.spawn(path)
    deadline = began + sender_bound_s(args)
    settle_by: float | None = None
    samples: list[dict[str, Any]] = []
    next_sample = began
    while True:
        now = time.monotonic()
        if now > deadline or all(p.poll() is not None for p in group.procs):
            # An agent that gave up waiting does not stop its attempt's scoring: wait for it.
            settle_by = settle_by or now + FINALIZE_BOUND_S + SETTLE_SLACK_S
            if now > settle_by or unscored(prefix) == 0:
                break
        if now >= next_sample:
            samples.append(take_sample(stack, group, prefix, meter, broker, now - began))
            next_sample += args.sample_s
        time.sleep(POLL_S)
    timed_out = sum(1 for p in group.procs if p.poll() is None)  # the caller stops them
    return {"samples": samples, "senders_timed_out": timed_out}


def agent_outcomes(group: Senders, agents: int) -> dict[str, Any]:
    """What the candidates saw: connected, stopped with their score, or the error they got."""
    with group.lock:
        ready, failed, stopped = dict(group.ready), list(group.failed), list(group.stopped)
        done = list(group.done)
    ok = [line for line in stopped if line.get("ok")]
    not_ok = failed + [line for line in stopped if not line.get("ok")]
    seen = {line["attempt_id"] for line in stopped + failed}
    missing = [{"attempt_id": a, "error": "no stop result"} for a in ready if a not in seen]
    stop_s = [line["stop_s"] for line in ok]
    return {
        "ready": len(ready),
        "ok": len(ok),
        "failed": not_ok + missing,
        "connect_s": report.summary([line["connect_s"] for line in ready.values()])
        if ready
        else None,
        "stop_s": report.summary(stop_s) if stop_s else None,
        "sender_cpu_s": round(sum(line["cpu_s"] for line in done), 1),
        "sender_processes_done": len(done),
        "agents": agents,
    }


def soak(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    from scripts.stack import Stack

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    redis_proc, redis_url = start_redis(work)
    try:
        prepare_database(redis_url)
        prefix = f"soak-{int(time.time())}-"
        media_path = senders.encode_media(work, args.fps, audio_frame_ms=args.audio_frame_ms)
        stack = Stack(
            env=soak_env(redis_url),
            log_dir=work / "logs",
            worker_concurrency=args.worker_concurrency,
        )
        stack.start()
        group = Senders(log_dir=work / "logs")
        try:
            specs = write_specs(args, stack, prefix, media_path, work)
            watched = watch(args, stack, group, specs, prefix, redis_url)
            # Before stopping: SIGTERM to the worker's group makes its children log WorkerLost.
            logs = {name: log_problems(stack.log(name)) for name in PROCESSES}
        finally:
            group.stop()
            stack.stop()
        outcomes = attempt_outcomes(prefix)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
    agents = agent_outcomes(group, args.agents)
    samples = watched["samples"]
    result = {
        "date": report.now_utc(),
        "machine": report.machine(),
        "config": {
            "command": " ".join(["python -m bench.soak", *argv]),
            "agents": args.agents,
            "minutes": args.minutes,
            "fps": args.fps,
            "per_process": args.per_process,
            "processes": len(group.procs),
            "clients": args.clients,
            "finalize_bound_s": FINALIZE_BOUND_S,
            "agent_stop_deadline_s": STOP_DEADLINE_S,
            "ramp_s": args.ramp_s,
            "sample_s": args.sample_s,
            "worker_concurrency": args.worker_concurrency,
            "sender": f"bench.senders pre-encoded replay, nice {senders.NICE}",
            "media": senders.describe(media_path),
            "flat_threshold_mb_per_min": FLAT_MB_PER_MIN,
            "lag_bound_s": LAG_BOUND_S,
            "cpu_groups": list(CPU_GROUPS),
        },
        "agents": agents,
        "agents_ok": agents["ok"],
        "agents_failed": agents["failed"],
        "senders_timed_out": watched["senders_timed_out"],
        "attempts": outcomes,
        "memory": memory_summary(args, samples),
        "sampling_lag": lag_summary(args, samples),
        "queue": queue_summary(args, samples),
        "cpu": cpu_summary(args, samples),
        "load_1min_max": max((s["load_1min"] for s in samples), default=None),
        "logs": logs,
        "log_dir": str(work / "logs"),
        "samples": samples,
    }
    result["verdict"] = verdict(result)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    result = soak(args, argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    soak_report.print_summary(result)
    print(f"  written to {args.out}")
    if not args.no_docs:
        soak_report.write_doc(result)
        print(f"  and to {soak_report.DOC}")
    return 0 if result["verdict"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
