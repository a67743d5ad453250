"""Start and stop the web, media and worker processes as real subprocesses (demo and e2e tests)."""

import ipaddress
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import redis

from proctoring.messages import NODES_KEY

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
WORKER_READY_MARK = "ready."
# The agent's options on a machine without a display (CI, the demo, benchmarks): the
# screen-dependent tracking is off; the desktop tests cover it on Xvfb.
HEADLESS_TRACKING = {
    "tabSwitch": False,
    "captureSwitchedTab": False,
    "detectMultipleScreens": False,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    # The web's address; a browser in a network namespace reaches it on a veth address.
    host: str = "127.0.0.1"
    worker_concurrency: int = 2
    # Celery beat inside the worker (stopping abandoned attempts, the daily purge).
    beat: bool = False
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
        self.processes[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _own_key_beyond_loopback(self) -> None:
        """A web serving beyond loopback refuses the public development key (#22), so such a
        stack gets a key of its own; the secrets this process encrypted stay readable through
        the Fernet key it uses, handed over explicitly."""
        if ipaddress.ip_address(self.host).is_loopback or self.env.get("DJANGO_SECRET_KEY"):
            return
        from proctoring.signing import secret_encryption_key

        self.env = {
            **self.env,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "PROCTOR_SECRET_ENCRYPTION_KEY": secret_encryption_key(),
        }

    def web_command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--no-access-log",
        ]

    def media_command(self) -> list[str]:
        return [sys.executable, "manage.py", "run_media"]

    def worker_command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "-Q",
            "analysis,default",
            "--concurrency",
            str(self.worker_concurrency),
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            *self._beat_args(),
        ]

    def start(self) -> "Stack":
        self._own_key_beyond_loopback()
        self._spawn("web", self.web_command())
        self._spawn("media", self.media_command())
        self._spawn("worker", self.worker_command())
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _beat_args(self) -> list[str]:
        if not self.beat:
            return []
        return ["--beat", "--schedule", str(self.log_dir / "beat-schedule")]

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}"
                )

    def _web_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/health/", timeout=2) as resp:  # noqa: S310
                return resp.status == 200
        except OSError:
            return False

    def _media_ready(self) -> bool:
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        return client.zcount(NODES_KEY, time.time() - 6, "+inf") > 0

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            if (
                self._web_ready()
                and self._media_ready()
                and WORKER_READY_MARK in self.log("worker")
            ):
                return
            time.sleep(0.3)
        raise TimeoutError(f"stack not ready after {READY_TIMEOUT_S}s")

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
