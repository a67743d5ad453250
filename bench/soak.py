"""`python -m bench.soak [--agents 50] [--minutes 10]`: many agents on one node for a long time.

Starts the real stack (web, media, one Celery worker) on its own PostgreSQL database
(`proctoring_soak`) and its own Redis (a `redis-server` on a free loopback port), then runs
`--agents` capture agents in `--processes` sender processes. The senders are the real agent
(`agent.lifecycle.AutoProctor`, several per event loop) at `max_fps=1`: the camera file is
encoded live, but one frame a second costs little, and the server samples 1 frame/s anyway.

Every `--sample-s` seconds it records the RSS of the web, media and worker processes (the
worker with its pool children) and the sampling lag: for each streaming attempt, how far its
newest observation trails real time. At the end it checks that every attempt was scored,
greps the stack's logs for ERROR and Traceback, and writes bench/results/soak.json.

Memory is "flat" when the slope of a least-squares line through a process's RSS, after the
warm-up (the ramp plus the first WARMUP_FRACTION of the run), is below FLAT_MB_PER_MIN.
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import env, report
from bench.soak_measure import (
    FLAT_MB_PER_MIN,
    PROCESSES,
    attempt_outcomes,
    lag_summary,
    log_problems,
    memory_summary,
    rss_mb,
    sampling_lags,
)
from scripts.stack import HEADLESS_TRACKING

SOAK_DB_NAME = "proctoring_soak"
SOAK_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{SOAK_DB_NAME}"
RESULTS = env.ROOT / "bench" / "results" / "soak.json"
# After the agents' streaming time: stop, scoring (finalize waits up to its bound) and slack.
STOP_SLACK_S = 240.0
# Finalize's bound, as deployed by default; after the agents stop, attempts get this long to score.
FINALIZE_BOUND_S = 120.0
SETTLE_SLACK_S = 30.0
REDIS_READY_S = 10.0
OPTIONS = {"trackingOptions": {**HEADLESS_TRACKING}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0, help="streaming time per agent")
    parser.add_argument("--processes", type=int, default=5, help="sender processes")
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
    parser.add_argument("--sender", help=argparse.SUPPRESS)  # internal: a sender's JSON spec
    return parser.parse_args(argv)


# -- sender processes ----------------------------------------------------------------------------


async def _one_agent(spec: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    from agent.codes import AgentError
    from agent.lifecycle import AutoProctor

    await asyncio.sleep(agent["delay_s"])
    counts = {"evidence": 0, "reconnected": 0, "errors": 0}

    def on_event(event) -> None:
        if event.name == "apEvidenceEvent":
            counts["evidence"] += 1
        elif event.name == "apErrorEvent":
            counts["errors"] += 1
        elif event.name == "apConnectionStateChange" and event.detail.get("state") == "reconnected":
            counts["reconnected"] += 1

    proctor = AutoProctor(
        client_id=agent["client_id"],
        test_attempt_id=agent["test_attempt_id"],
        hashed_test_attempt_id=agent["hashed"],
        server=spec["server"],
        camera=spec["camera"],
        microphone=spec["microphone"],
        ice_host_addresses=["127.0.0.1"],
        on_event=on_event,
        max_fps=1.0,
    )
    result: dict[str, Any] = {"test_attempt_id": agent["test_attempt_id"], **counts}
    try:
        await proctor.setup(OPTIONS)
        await proctor.start()
        await asyncio.sleep(spec["seconds"])
        stopped = await proctor.stop()
        result.update(ok=True, trust_score=stopped["trustScore"])
    except AgentError as error:
        result.update(ok=False, error=f"{int(error.code)}: {error.message}")
    except Exception as error:  # a sender must report every agent, whatever went wrong
        result.update(ok=False, error=repr(error))
    finally:
        await proctor.destroy()
    result.update(counts)
    return result


async def _sender(spec: dict[str, Any]) -> None:
    results = await asyncio.gather(*(_one_agent(spec, agent) for agent in spec["agents"]))
    for result in results:
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def run_sender(raw: str) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_sender(json.loads(raw)))
    return 0


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


# -- measurements ---------------------------------------------------------------------------------


# -- the run --------------------------------------------------------------------------------------


def agent_specs(args: argparse.Namespace, prefix: str) -> list[dict[str, Any]]:
    from proctoring import signing
    from proctoring.services.clients import client_create

    clients = [client_create(name=f"Soak {n}") for n in range(max(1, args.clients))]
    specs = []
    for i in range(args.agents):
        client = clients[i % len(clients)]
        test_attempt_id = f"{prefix}{i:03d}"
        hashed = signing.hash_test_attempt_id(
            client_secret=client.client_secret, test_attempt_id=test_attempt_id
        )
        delay = args.ramp_s * i / max(1, args.agents)
        specs.append(
            {
                "client_id": client.client.client_id,
                "test_attempt_id": test_attempt_id,
                "hashed": hashed,
                "delay_s": delay,
            }
        )
    return specs


def start_senders(args, stack, agents: list[dict], log_dir: Path) -> list:
    senders = []
    for index in range(min(args.processes, len(agents))):
        spec = {
            "server": stack.url,
            "seconds": args.minutes * 60,
            "camera": str(env.MEDIA_DIR / "fake_camera_640x480_15fps_2s.y4m"),
            "microphone": str(env.MEDIA_DIR / "fake_mic_16k_2s.wav"),
            "agents": agents[index :: args.processes],
        }
        stderr = open(log_dir / f"sender-{index}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.soak", "--sender", json.dumps(spec)],
            cwd=env.ROOT,
            env=soak_env(stack.env["REDIS_URL"]),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        senders.append(proc)
    return senders


def unscored(prefix: str) -> int:
    from proctoring.models import Attempt
    from proctoring.statuses import AttemptStatus

    attempts = Attempt.objects.filter(test_attempt_id__startswith=prefix)
    return attempts.exclude(status=AttemptStatus.STOPPED).count()


def watch(args, stack, senders: list, prefix: str) -> dict[str, Any]:
    """Sample RSS and lag until the senders finish and every attempt is scored (both bounded)."""
    began = time.monotonic()
    deadline = began + args.ramp_s + args.minutes * 60 + STOP_SLACK_S
    settle_by: float | None = None
    samples: list[dict[str, Any]] = []
    next_sample = began
    while time.monotonic() < deadline:
        if all(p.poll() is not None for p in senders):
            # An agent that gave up waiting does not stop its attempt's scoring: wait for it.
            settle_by = settle_by or time.monotonic() + FINALIZE_BOUND_S + SETTLE_SLACK_S
            if time.monotonic() > settle_by or unscored(prefix) == 0:
                break
        if time.monotonic() >= next_sample:
            rss = {
                name: rss_mb(stack.processes[name].pid, with_children=name == "worker")
                for name in PROCESSES
            }
            lags = sampling_lags(prefix)
            samples.append(
                {
                    "t": round(time.monotonic() - began, 1),
                    "rss_mb": rss,
                    "lags": lags,
                    # The machine may be shared: a load above its cores explains a growing lag.
                    "load_1min": os.getloadavg()[0],
                }
            )
            lag_text = f"lag max {max(lags):.1f} s" if lags else "no attempt streaming"
            rss_text = " ".join(f"{k}={v:.0f}MB" for k, v in rss.items() if v is not None)
            print(f"[soak] t={samples[-1]['t']:.0f}s {rss_text} {lag_text}", file=sys.stderr)
            next_sample += args.sample_s
        time.sleep(0.5)
    timed_out = [p for p in senders if p.poll() is None]
    for proc in timed_out:
        proc.kill()
    agents = []
    for proc in senders:
        out, _ = proc.communicate(timeout=30)
        agents += [json.loads(line) for line in out.splitlines() if line.strip()]
    return {"samples": samples, "agents": agents, "senders_timed_out": len(timed_out)}


def soak(args: argparse.Namespace) -> dict[str, Any]:
    from scripts.stack import Stack

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    redis_proc, redis_url = start_redis(work)
    try:
        prepare_database(redis_url)
        prefix = f"soak-{int(time.time())}-"
        agents = agent_specs(args, prefix)
        stack = Stack(
            env=soak_env(redis_url),
            log_dir=work / "logs",
            worker_concurrency=args.worker_concurrency,
        )
        stack.start()
        try:
            senders = start_senders(args, stack, agents, work / "logs")
            watched = watch(args, stack, senders, prefix)
            # Before stopping: SIGTERM to the worker's group makes its children log WorkerLost.
            logs = {name: log_problems(stack.log(name)) for name in PROCESSES}
        finally:
            stack.stop()
        outcomes = attempt_outcomes(prefix)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
    agent_results = watched["agents"]
    return {
        "date": report.now_utc(),
        "machine": report.machine(),
        "config": {
            "agents": args.agents,
            "minutes": args.minutes,
            "processes": args.processes,
            "clients": args.clients,
            "finalize_bound_s": FINALIZE_BOUND_S,
            "ramp_s": args.ramp_s,
            "sample_s": args.sample_s,
            "worker_concurrency": args.worker_concurrency,
            "sender": "agent.lifecycle.AutoProctor in-process, max_fps=1, live VP8/Opus",
            "flat_threshold_mb_per_min": FLAT_MB_PER_MIN,
        },
        "agents_ok": sum(1 for a in agent_results if a.get("ok")),
        "agents_failed": [a for a in agent_results if not a.get("ok")],
        "reconnections": sum(a.get("reconnected", 0) for a in agent_results),
        "senders_timed_out": watched["senders_timed_out"],
        "attempts": outcomes,
        "memory": memory_summary(args, watched["samples"]),
        "sampling_lag": lag_summary(watched["samples"]),
        "load_1min_max": max((s["load_1min"] for s in watched["samples"]), default=None),
        "logs": logs,
        "log_dir": str(work / "logs"),
        "samples": watched["samples"],
    }


def print_summary(result: dict[str, Any]) -> None:
    cfg, attempts = result["config"], result["attempts"]
    print(f"soak: {cfg['agents']} agents x {cfg['minutes']:g} min, {cfg['processes']} senders")
    print(
        f"  agents ok {result['agents_ok']}/{cfg['agents']}, "
        f"scored {attempts['scored']}/{attempts['attempts']}, "
        f"evidence {attempts['evidence_status']}, reconnections {result['reconnections']}"
    )
    if attempts["stop_to_score_s"]:
        s = attempts["stop_to_score_s"]
        print(f"  stop to score: median {s['median']:.1f} s, max {s['max']:.1f} s")
    lag = result["sampling_lag"]
    print(f"  sampling lag: p50 {lag['p50_s']} s, p95 {lag['p95_s']} s, max {lag['max_s']} s")
    cores = result["machine"]["cores"]
    print(f"  machine load (1 min) max {result['load_1min_max']} on {cores} cores")
    for name, mem in result["memory"].items():
        verdict = "flat" if mem["flat"] else "NOT flat"
        print(
            f"  {name}: RSS {mem['first_mb']} -> {mem['last_mb']} MB (max {mem['max_mb']}), "
            f"slope {mem['slope_mb_per_min']} MB/min over {mem['fit_points']} points: {verdict}"
        )
    for name, found in result["logs"].items():
        print(f"  {name} log: {found['errors']} ERROR lines, {found['tracebacks']} tracebacks")
    print(f"  logs kept in {result['log_dir']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sender:
        return run_sender(args.sender)
    result = soak(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_summary(result)
    print(f"  written to {args.out}")
    healthy = (
        result["attempts"]["scored"] == result["config"]["agents"]
        and not result["agents_failed"]
        and all(found["tracebacks"] == 0 for found in result["logs"].values())
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
