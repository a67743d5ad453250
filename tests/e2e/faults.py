"""Fault injection for the e2e tests: a private Redis, a TCP proxy to cut, restartable processes.

Everything here is loopback only and bounded in time. The machine's PostgreSQL and Redis are
shared with other people: faults are injected on a Redis this module starts, and on a proxy
between the stack and PostgreSQL, never on the shared services themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

from proctoring import signing
from scripts.stack import HEADLESS_TRACKING, Stack, free_port

LOOPBACK = "127.0.0.1"
REDIS_READY_TIMEOUT_S = 10.0
REDIS_STOP_TIMEOUT_S = 10.0
PROCESS_READY_TIMEOUT_S = 60.0
POLL_S = 0.2
MEDIA_READY_MARK = "media ingest"  # "media ingest <node> ready"
WORKER_READY_MARK = "ready."
AGENT_TIMEOUT_S = 150.0


def wait_for(predicate, *, timeout: float, what: str, interval: float = POLL_S):
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


# -- Redis --------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A redis-server of our own on a free loopback port, with an append-only file.

    `appendfsync always` makes a restart lose nothing that Redis acknowledged, as a production
    broker configured for durability would: what a restart then tests is the clients.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=2)

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / f"redis-{self.restarts}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                *(binary, "--bind", LOOPBACK, "--port", str(self.port)),
                *("--dir", str(self.data_dir), "--save", ""),
                *("--appendonly", "yes", "--appendfsync", "always"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._pings, timeout=REDIS_READY_TIMEOUT_S, what=f"redis on port {self.port}")
        return self

    def _pings(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: Redis flushes its append-only file and exits)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=REDIS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=REDIS_STOP_TIMEOUT_S)

    def restart(self, *, down_s: float) -> float:
        """Stop, stay down `down_s` seconds, start on the same port; returns the real outage."""
        began = time.monotonic()
        self.stop()
        time.sleep(down_s)
        self.restarts += 1
        self.start()
        return time.monotonic() - began


# -- TCP proxy ----------------------------------------------------------------------------------


class TcpProxy:
    """A loopback TCP proxy, run by asyncio on its own thread, that can cut every connection.

    `cut()` closes the listening socket and every proxied connection (both sides), so clients see
    a real reset and new connections are refused; `restore()` listens again on the same port.
    """

    def __init__(self, target_port: int, target_host: str = LOOPBACK) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="proxy")
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, LOOPBACK, self.port)

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )
        self._writers.difference_update({writer, up_writer})

    async def _pump(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def cut(self) -> None:
        self._call(self._cut())

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            # abort(): an RST now, not a graceful FIN after buffered data.
            transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


# -- the stack, with processes that can be killed and started again ----------------------------


class FaultStack(Stack):
    """scripts.stack.Stack that remembers each command, so a process can be killed and respawned.

    A respawned process gets its own log (`worker-2.log`, ...), so the dead one's log is kept.
    """

    worker_loglevel: str | None = None

    def _spawn(self, name: str, args: list[str]) -> None:
        if not hasattr(self, "commands"):
            self.commands: dict[str, list[str]] = {}
        if name == "worker" and self.worker_loglevel:
            args = list(args)
            args[args.index("--loglevel") + 1] = self.worker_loglevel
        self.commands.setdefault(name, list(args))
        super()._spawn(name, args)

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def signal_group(self, name: str, signum: int) -> None:
        """Signal a process and its children (each runs in its own session and group)."""
        os.killpg(self.processes[name].pid, signum)

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started (a crash: no cleanup runs)."""
        proc = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def terminate(self, name: str) -> None:
        proc = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill(name)

    def children(self, name: str) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid(name)).children(recursive=False)
        except psutil.NoSuchProcess:
            return []

    def respawn(self, base: str, name: str, *, queues: str | None = None) -> None:
        """Start another `base` process (same command, optional worker queues) as `name`."""
        args = list(self.commands[base])
        if queues is not None:
            args[args.index("-Q") + 1] = queues
        super()._spawn(name, args)
        mark = WORKER_READY_MARK if base == "worker" else MEDIA_READY_MARK
        proc = self.processes[name]

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}"
                )
            return mark in self.log(name)

        wait_for(ready, timeout=PROCESS_READY_TIMEOUT_S, what=f"{name} to be ready")

    def all_logs(self) -> dict[str, str]:
        return {name: self.log(name) for name in self.processes}


# -- the agent ----------------------------------------------------------------------------------


def agent_command(
    stack: Stack,
    *,
    client_id: str,
    client_secret: str,
    test_attempt_id: str,
    seconds: float,
    media_dir: Path,
    tracking: dict | None = None,
    verbose: bool = False,
) -> list[str]:
    hashed = signing.hash_test_attempt_id(
        client_secret=client_secret, test_attempt_id=test_attempt_id
    )
    options = {"trackingOptions": {**HEADLESS_TRACKING, **(tracking or {})}}
    return [
        *(sys.executable, "-m", "agent", "run", "--server", stack.url),
        *("--client-id", client_id, "--test-attempt-id", test_attempt_id),
        *("--hashed-test-attempt-id", hashed),
        *("--camera", str(media_dir / "fake_camera_640x480_15fps_2s.y4m")),
        *("--microphone", str(media_dir / "fake_mic_16k_2s.wav")),
        *("--duration", str(seconds), "--ice-host", LOOPBACK, "--json"),
        *("--options", json.dumps(options)),
        *(("-v",) if verbose else ()),
    ]


class AgentRun:
    """The agent as a child process; its JSON events are read on a thread as they come."""

    def __init__(self, args: list[str], log_dir: Path, name: str = "agent") -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, start_new_session=True
        )
        self.stdout_lines: list[str] = []
        self.events: list[dict] = []
        self._queue: queue.Queue[dict] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                self.events.append(event)
                self._queue.put(event)

    def wait_event(self, name: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        for event in list(self.events):
            if event.get("event") == name:
                return event
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self._queue.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    break
                continue
            if event.get("event") == name:
                return event
        raise TimeoutError(f"agent event {name} not seen; stderr:\n{self.stderr()[-2000:]}")

    def wait(self, timeout: float = AGENT_TIMEOUT_S) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise
        self._reader.join(timeout=5)
        self._stderr.close()
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events if e.get("event") == name]
