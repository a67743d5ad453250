"""The real stack (web, media, worker processes) on the bench database, and an API client."""

import base64
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import env

FINALIZE_TIMEOUT_S = "60"
# Benchmarks measure throughput and latency, not the throttles: at the default 600 requests/min
# per client and 1,200 per IP, wrk and the 20/s violation-latency poller got 429s (runs of
# 2026-11-25 23:54, which reported them as slow or failed answers).
UNTHROTTLED = {"PROCTOR_THROTTLE_IP": "1000000/min", "PROCTOR_THROTTLE_CLIENT": "1000000/min"}
LOG_TAIL_CHARS = 2000


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str

    @property
    def basic(self) -> str:
        token = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return f"Basic {token}"


def new_client(name: str) -> Credentials:
    from proctoring.services.clients import client_create

    created = client_create(name=name)
    return Credentials(created.client.client_id, created.client_secret)


@contextlib.contextmanager
def running_stack(log_dir: Path, **overrides: str) -> Iterator[tuple[object, float]]:
    """A started scripts.stack.Stack and the seconds it took to become ready."""
    from scripts.stack import Stack

    env.flush_redis()  # no stale ingest node or queued task from an earlier run
    settings = {"PROCTOR_FINALIZE_TIMEOUT_S": FINALIZE_TIMEOUT_S, **UNTHROTTLED, **overrides}
    stack = Stack(env=env.bench_env(**settings), log_dir=log_dir)
    started = time.perf_counter()
    stack.start()
    try:
        yield stack, time.perf_counter() - started
    finally:
        stack.stop()


def log_tails(stack: object) -> dict[str, str]:
    return {name: stack.log(name)[-LOG_TAIL_CHARS:] for name in ("web", "media", "worker")}
