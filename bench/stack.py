"""The real stack (web, media, worker processes) on the bench database, and an API client."""

import base64
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import env

FINALIZE_TIMEOUT_S = "60"
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
def running_stack(log_dir: Path) -> Iterator[tuple[object, float]]:
    """A started scripts.stack.Stack and the seconds it took to become ready."""
    from scripts.stack import Stack

    env.flush_redis()  # no stale ingest node or queued task from an earlier run
    stack = Stack(env=env.bench_env(PROCTOR_FINALIZE_TIMEOUT_S=FINALIZE_TIMEOUT_S), log_dir=log_dir)
    started = time.perf_counter()
    stack.start()
    try:
        yield stack, time.perf_counter() - started
    finally:
        stack.stop()


def log_tails(stack: object) -> dict[str, str]:
    return {name: stack.log(name)[-LOG_TAIL_CHARS:] for name in ("web", "media", "worker")}
