"""Ramps of concurrent senders into the real stack, and what every process spent at each step.

Shared by `ingest_capacity` (item 2) and `e2e_capacity` (item 3). One stack (uvicorn web, one
`run_media`, a Celery worker with concurrency 2) per ramp; sender processes (`bench.senders`,
niced, STREAMS_PER_PROCESS streams each) are added at every step and keep streaming until the
ramp ends. At each step, after a warm-up, a window of WINDOW_S seconds is measured:

- CPU seconds (utime + stime, via psutil from /proc/<pid>/stat) of the media process, the web
  process, the worker and its pool children, the PostgreSQL backends connected to the bench
  database, the PostgreSQL helper processes and redis-server (both shared with other users of
  the machine, so an overestimate), the senders, and the whole machine (/proc/stat);
- the media process' RSS at the end of the window;
- the analysis queue length in Redis DB 14, sampled every QUEUE_SAMPLE_S;
- afterwards, from the bench database: the observations written during the window (count per
  session vs expected, and the lag of each one: its created_at minus the wall time its frame was
  sent, or the end of its audio window) and the multiple-humans violations that started in it
  (latency: created_at minus the wall time of the sender's first 2-face frame).
"""

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from agent.webrtc import DEFAULT_AUDIO_FRAME_MS
from bench import cpu, env, media, senders
from bench.report import percentile
from bench.stack import Credentials, log_tails, new_client

STREAMS_PER_PROCESS = 8
STAGGER_S = 0.15
READY_TIMEOUT_S = 60.0
QUEUE_SAMPLE_S = 1.0
SENDER_EXIT_TIMEOUT_S = 30.0
SENDER_MAX_S = 900.0  # bounded even if the coordinator dies
IDLE_WINDOW_S = 5.0
# "Keeps up": per-session observations within this fraction of expected, lag p95 under
# MAX_LAG_S, and the analysis queue not left holding more than one sample per session.
MIN_RATE_RATIO = 0.9
MAX_LAG_S = 1.0
MAX_VIOLATION_P95_S = 2.0
# Onsets this close to the window's end may still be in flight: not counted as missed.
ONSET_TAIL_S = 3.0
ONSET_SLACK_S = 0.1
PG_HELPERS = ("checkpointer", "background writer", "walwriter", "autovacuum launcher")
# /proc/stat busy cores at or above this on the 2-core machine: saturated.
SATURATED_CORES = 0.95 * psutil.cpu_count()


@dataclass
class Ramp:
    fps: float
    steps: list[int]
    window_s: float
    warmup_s: float
    screen: bool = True
    bitrate: int = senders.AGENT_VIDEO_BITRATE
    audio_frame_ms: int = DEFAULT_AUDIO_FRAME_MS  # the agent's Opus packets
    # This machine is shared: a step can fail from others' load; later steps still give costs.
    stop_at_first_failure: bool = False
    label: str = ""
    # The session options the senders start with (None: the agent's headless defaults).
    options: dict | None = None
    # The camera: one face throughout, instead of the pattern of one face and then two.
    lone: bool = False


@dataclass
class Senders:
    """The sender processes of a ramp and the ready lines they printed."""

    procs: list[subprocess.Popen] = field(default_factory=list)
    ready: dict[str, dict] = field(default_factory=dict)  # attempt_id -> ready line
    failed: list[dict] = field(default_factory=list)
    done: list[dict] = field(default_factory=list)
    stopped: list[dict] = field(default_factory=list)  # streams given a duration_s (the soak)
    lock: threading.Lock = field(default_factory=threading.Lock)
    log_dir: Path | None = None  # senders' stderr, else discarded

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                if message["event"] == "ready":
                    self.ready[message["attempt_id"]] = message
                elif message["event"] == "failed":
                    self.failed.append(message)
                elif message["event"] == "done":
                    self.done.append(message)
                elif message["event"] == "stopped":
                    self.stopped.append(message)

    def spawn(self, spec_path: Path) -> None:
        log = None
        if self.log_dir is not None:
            log = open(self.log_dir / f"sender-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.senders", str(spec_path)],
            cwd=env.ROOT,
            env=env.bench_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log or subprocess.DEVNULL,
            text=True,
        )
        if log is not None:
            log.close()  # the child has its own copy
        self.procs.append(proc)
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def stop(self) -> None:
        for proc in self.procs:
            try:
                proc.stdin.write("stop\n")
                proc.stdin.flush()
            except OSError:
                pass
        deadline = time.monotonic() + SENDER_EXIT_TIMEOUT_S
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class CpuProbe:
    """CPU seconds per group of processes, and of the whole machine."""

    def __init__(self, stack: Any, sender_procs: list[subprocess.Popen]) -> None:
        self.stack = stack
        self.sender_procs = sender_procs
        self.redis_pids = [
            p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"
        ]
        self.pg_helper_pids = [
            p.pid
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres"
            and any(h in " ".join(p.info["cmdline"] or ()) for h in PG_HELPERS)
        ]

    def _pg_backends(self) -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (env.BENCH_DB_NAME,),
            )
            return [pid for (pid,) in cursor.fetchall()]

    def groups(self) -> dict[str, list[int]]:
        worker = psutil.Process(self.stack.processes["worker"].pid)
        return {
            "media": [self.stack.processes["media"].pid],
            "web": [self.stack.processes["web"].pid],
            "worker": [worker.pid] + [c.pid for c in worker.children(recursive=True)],
            "postgres": self._pg_backends(),
            "postgres_helpers": self.pg_helper_pids,
            "redis": self.redis_pids,
            "senders": [p.pid for p in self.sender_procs if p.poll() is None],
        }

    def snapshot(self) -> dict[str, Any]:
        return cpu.snapshot(self.groups())

    @staticmethod
    def pid_counts(snapshot: dict[str, Any]) -> dict[str, int]:
        return {group: len(pids) for group, pids in snapshot["groups"].items()}

    cores = staticmethod(cpu.cores)


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def sample_queue(client: redis.Redis, seconds: float) -> list[int]:
    """Queue length every QUEUE_SAMPLE_S for `seconds` (this is also the window's wait)."""
    samples = []
    deadline = time.monotonic() + seconds
    while True:
        samples.append(cpu.queue_length(client))
        left = deadline - time.monotonic()
        if left <= 0:
            return samples
        time.sleep(min(QUEUE_SAMPLE_S, left))


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values),
        "n": len(values),
    }


def observations(ready: dict[str, dict], start_wall: float, end_wall: float) -> dict[str, Any]:
    """Observations written in [start_wall, end_wall]: counts per session and lag."""
    import datetime as dt

    from proctoring.models import Observation

    sessions = {line["session_id"]: line for line in ready.values()}
    since = dt.datetime.fromtimestamp(start_wall, dt.UTC)
    until = dt.datetime.fromtimestamp(end_wall, dt.UTC)
    rows = Observation.objects.filter(
        session_id__in=list(sessions), created_at__gte=since, created_at__lte=until
    ).values_list("session_id", "kind", "media_time", "duration_s", "created_at")
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"video": 0, "audio": 0})
    lags: dict[str, list[float]] = {"video": [], "audio": []}
    for session_id, kind, media_time, duration_s, created_at in rows:
        t0 = sessions[str(session_id)]["t0"]
        counts[str(session_id)][kind] += 1
        if kind == "video":
            sent = t0["camera"] + media_time
        else:
            sent = t0["microphone"] + media_time + duration_s  # the window is complete then
        lags[kind].append(created_at.timestamp() - sent)
    window = end_wall - start_wall
    per_session = {
        kind: [counts[sid][kind] / window for sid in sessions] for kind in ("video", "audio")
    }
    return {
        "window_s": window,
        "rows": len(rows),
        "rate_per_session": {
            kind: {
                "median": statistics.median(rates),
                "min": min(rates),
                "mean": statistics.fmean(rates),
            }
            for kind, rates in per_session.items()
            if rates
        },
        "lag_s": {kind: _stats(values) for kind, values in lags.items()},
    }


def violation_latency(ready: dict[str, dict], start_wall: float, end_wall: float) -> dict:
    """Per 1->2-face onset sent in the window: its multiple-humans violation's created_at - send."""
    from proctoring.models import MediaSession, Violation

    sessions = {line["session_id"]: line for line in ready.values()}
    offsets = dict(MediaSession.objects.filter(id__in=list(sessions)).values_list("id", "offset_s"))
    found: dict[tuple[str, int], float] = {}
    for session_id, offset in offsets.items():
        attempt_id = sessions[str(session_id)]["attempt_id"]
        t0 = sessions[str(session_id)]["t0"]["camera"]
        rows = Violation.objects.filter(
            attempt__test_attempt_id=attempt_id, type="multiple_humans"
        ).values_list("start_s", "created_at")
        for start_s, created_at in rows:
            media_time = start_s - offset
            onset = media.PATTERN.onset_before(media_time + ONSET_SLACK_S)
            onset_wall = t0 + media.PATTERN.onset_time(onset)
            if onset >= 0 and start_wall <= onset_wall <= end_wall:
                found[(str(session_id), onset)] = created_at.timestamp() - onset_wall
    expected = 0
    for line in sessions.values():
        t0 = line["t0"]["camera"]
        onset = max(0, media.PATTERN.onset_before(start_wall - t0))
        while (wall := t0 + media.PATTERN.onset_time(onset)) <= end_wall - ONSET_TAIL_S:
            expected += wall >= start_wall
            onset += 1
    latencies = list(found.values())
    return {"latency_s": _stats(latencies), "onsets_expected": expected, "seen": len(latencies)}


def keeps_up(step: dict[str, Any]) -> tuple[bool, list[str]]:
    reasons = []
    if step["ready"] < step["n"]:
        reasons.append(f"only {step['ready']} of {step['n']} sessions connected")
    obs = step["observations"]
    for kind in ("video", "audio"):
        rate = obs["rate_per_session"].get(kind)
        if rate is None or rate["median"] < MIN_RATE_RATIO:
            reasons.append(f"{kind} observations/s per session below {MIN_RATE_RATIO}")
        lag = obs["lag_s"].get(kind)
        if lag is None or lag["p95"] > MAX_LAG_S:
            reasons.append(f"{kind} lag p95 above {MAX_LAG_S} s")
    queue = step["queue"]
    if queue["end"] > step["n"] and queue["end"] > queue["start"]:
        reasons.append("analysis queue growing")
    return not reasons, reasons


def _spec(
    dirpath: Path,
    index: int,
    stack: Any,
    creds: Credentials,
    ramp: Ramp,
    media_path: Path,
    attempts: list[str],
) -> Path:
    from proctoring import signing

    spec = {
        "server": {"url": stack.url, "client_id": creds.client_id},
        "media": str(media_path),
        "screen": ramp.screen,
        "options": ramp.options,
        "stagger_s": STAGGER_S,
        "max_s": SENDER_MAX_S,
        "streams": [
            {
                "attempt_id": attempt,
                "hashed": signing.hash_test_attempt_id(
                    client_secret=creds.client_secret, test_attempt_id=attempt
                ),
            }
            for attempt in attempts
        ],
    }
    path = dirpath / f"senders_{index}.json"
    path.write_text(json.dumps(spec))
    return path


def _add_senders(
    group: Senders,
    tmp: Path,
    stack: Any,
    creds: Credentials,
    ramp: Ramp,
    media_path: Path,
    have: int,
    want: int,
) -> None:
    attempts = [f"cap-{ramp.fps:g}-{i}" for i in range(have, want)]
    for index in range(0, len(attempts), STREAMS_PER_PROCESS):
        chunk = attempts[index : index + STREAMS_PER_PROCESS]
        group.spawn(_spec(tmp, len(group.procs), stack, creds, ramp, media_path, chunk))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with group.lock:
            settled = len(group.ready) + len(group.failed)
        if settled >= want:
            return
        time.sleep(0.1)


def measure_step(stack: Any, group: Senders, n: int, ramp: Ramp, client: redis.Redis) -> dict:
    probe = CpuProbe(stack, group.procs)
    time.sleep(ramp.warmup_s)
    queue_start = cpu.queue_length(client)
    start_wall, start = time.time(), probe.snapshot()
    queue = sample_queue(client, ramp.window_s)
    end, end_wall = probe.snapshot(), time.time()
    media_pid = stack.processes["media"].pid
    with group.lock:
        ready = dict(group.ready)
    step = {
        "n": n,
        "ready": len(ready),
        "failed": len(group.failed),
        "connect_s": _stats([line["connect_s"] for line in ready.values()]),
        "cores": CpuProbe.cores(start, end),
        "processes": CpuProbe.pid_counts(end),
        "media_rss_mb": rss_mb(media_pid),
        "media_threads": psutil.Process(media_pid).num_threads(),
        "queue": {"start": queue_start, "end": queue[-1], "max": max(queue)},
        "observations": observations(ready, start_wall, end_wall),
        "violations": (
            false_violations(ready) if ramp.lone else violation_latency(ready, start_wall, end_wall)
        ),
    }
    ok, reasons = keeps_up(step)
    step["keeps_up"], step["why_not"] = ok, reasons
    vio = step["violations"]["latency_s"]
    if ramp.lone:  # nothing to find: right when nothing was found
        step["violation_p95_ok"] = step["violations"]["seen"] == 0
    else:
        step["violation_p95_ok"] = vio is not None and vio["p95"] <= MAX_VIOLATION_P95_S
    return step


def false_violations(ready: dict[str, dict]) -> dict:
    """A lone candidate's camera shows the same one face throughout: every multiple-humans or
    impersonation violation of the step's attempts is a false one."""
    from proctoring.models import Violation

    attempts = [line["attempt_id"] for line in ready.values()]
    seen = Violation.objects.filter(
        attempt__test_attempt_id__in=attempts, type__in=("multiple_humans", "impersonation")
    ).count()
    return {"latency_s": None, "onsets_expected": 0, "seen": seen}


def run_ramp(ramp: Ramp, media_dir: Path) -> dict[str, Any]:
    from scripts.stack import Stack

    media_path = senders.encode_media(
        media_dir, ramp.fps, ramp.bitrate, audio_frame_ms=ramp.audio_frame_ms, lone=ramp.lone
    )
    env.truncate_tables()
    env.flush_redis()
    client = redis.Redis.from_url(env.BENCH_REDIS_URL)
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp_name:
        tmp = Path(tmp_name)
        # No session cap: the ramp looks for the machine's limit, not the product's default.
        stack = Stack(env=env.bench_env(PROCTOR_INGEST_MAX_SESSIONS="0"), log_dir=tmp / "logs")
        stack.start()
        group = Senders()
        steps: list[dict] = []
        try:
            creds = new_client(f"bench capacity {ramp.fps:g}")
            media_pid = stack.processes["media"].pid
            probe = CpuProbe(stack, [])
            time.sleep(1.0)
            idle_start = probe.snapshot()
            time.sleep(IDLE_WINDOW_S)
            idle = {
                "cores": CpuProbe.cores(idle_start, probe.snapshot()),
                "media_rss_mb": rss_mb(media_pid),
            }
            have = 0
            for n in ramp.steps:
                print(f"[bench]   {ramp.label or ramp.fps} fps: N={n}", file=sys.stderr, flush=True)
                _add_senders(group, tmp, stack, creds, ramp, media_path, have, n)
                have = n
                step = measure_step(stack, group, n, ramp, client)
                steps.append(step)
                print(
                    f"[bench]     media {step['cores']['media']:.2f} cores, machine "
                    f"{step['cores']['machine']:.2f}, keeps up: {step['keeps_up']} "
                    f"{'; '.join(step['why_not'])}",
                    file=sys.stderr,
                    flush=True,
                )
                if ramp.stop_at_first_failure and not step["keeps_up"]:
                    break
        except Exception as error:
            raise RuntimeError(f"{error}\n{json.dumps(log_tails(stack), indent=1)}") from error
        finally:
            group.stop()
            stack.stop()
    return {
        "fps": ramp.fps,
        "bitrate": ramp.bitrate,
        "audio_frame_ms": ramp.audio_frame_ms,
        "screen": ramp.screen,
        "label": ramp.label,
        "window_s": ramp.window_s,
        "warmup_s": ramp.warmup_s,
        "media": senders.describe(media_path),
        "idle": idle,
        "steps": steps,
        "sender_cpu_s": sum(d["cpu_s"] for d in group.done),
        "sender_failures": group.failed[:5],
    }


def stack_cores(cores: dict[str, float]) -> float:
    """Everything on the server side: web, media, worker, PostgreSQL, Redis (not the senders)."""
    return sum(
        cores[g] for g in ("media", "web", "worker", "postgres", "postgres_helpers", "redis")
    )


def saturated(step: dict[str, Any]) -> bool:
    """The machine had no CPU left: a starved process does (and costs) less, so skip its figure."""
    return step["cores"]["machine"] >= SATURATED_CORES


def cost_step(steps: list[dict]) -> dict:
    """The step whose CPU per stream is read: the largest N on a machine not saturated, with
    every stream connected and the stack keeping up. A step that falls behind leaves work
    undone, so its CPU per stream reads low (2026-12-03: 3.6 % at a lagging N=42 against 6.9 %
    at the largest N that kept up)."""
    free = [
        step
        for step in steps
        if not saturated(step) and step["ready"] == step["n"] and step.get("keeps_up", True)
    ]
    return max(free, key=lambda s: s["n"]) if free else min(steps, key=lambda s: s["n"])


def largest_ok(steps: list[dict], key: str = "keeps_up") -> dict | None:
    ok = [step for step in steps if step[key]]
    return max(ok, key=lambda step: step["n"]) if ok else None
