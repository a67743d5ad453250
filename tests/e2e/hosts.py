"""Several "hosts" on one machine: network namespaces, each with its own media process and worker.

A deployment that outgrows one machine runs one web tier and several media and worker hosts on
one Redis and one PostgreSQL (docs/deploy.md). This module builds that on one machine, for the
e2e tests: each host is a network namespace (`aphost-a`, `aphost-b`) joined to the root
namespace by a veth pair (10.231.0.0/24, 10.231.1.0/24: addresses inside this machine only),
running its own `run_media` and its own Celery worker through `ip netns exec`. The web runs in
the root namespace and serves both.

Redis and PostgreSQL listen on 127.0.0.1 only, which a namespace cannot reach: for each host a
`socat` in the root namespace listens on the veth's host-side address and forwards to them, as a
private network's route to the shared Redis and PostgreSQL would. socat rather than a forwarder
in the test process: it is a separate process per connection, so the test's own event loop and
GIL never sit in the path of every task message.

Every namespace, link and forwarder made here is removed by whoever made it, even on failure;
a namespace left by a killed run (same names) is removed before a new one is made.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import redis

from proctoring.messages import NODES_KEY
from scripts.stack import ROOT, Stack
from tests.e2e.faults import MEDIA_READY_MARK, PROCESS_READY_TIMEOUT_S, WORKER_READY_MARK, wait_for

PREFIX = "aphost"
# One /24 per host, the host side .1 and the namespace .2. tests/browser/lab.py takes
# 10.231.20.0 and up, so the two never meet.
SUBNET = "10.231.{index}"
# The UDP ports of these tests' media processes (other tests use 41000-41349).
MEDIA_PORTS = range(44100, 44200)
STOP_TIMEOUT_S = 15.0
NODE_LINE = re.compile(r"media ingest (\S+) ready")


def available() -> str | None:
    """Why hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns, veth)"
    for tool in ("ip", "socat"):
        if shutil.which(tool) is None:
            return f"needs {tool} (requirements/apt.txt)"
    return None


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=30)


@dataclass
class Host:
    """One namespace: its addresses, its media UDP ports, its forwarders and its processes."""

    letter: str
    index: int
    ports: range
    forwarders: list[subprocess.Popen] = field(default_factory=list)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    node: str | None = None  # the media process's node name, once it heartbeats

    @property
    def name(self) -> str:
        return f"{PREFIX}-{self.letter}"

    @property
    def host_if(self) -> str:
        return f"{PREFIX}-{self.letter}-h"

    @property
    def ns_if(self) -> str:
        return f"{PREFIX}-{self.letter}-n"

    @property
    def host_ip(self) -> str:
        return f"{SUBNET.format(index=self.index)}.1"

    @property
    def ns_ip(self) -> str:
        return f"{SUBNET.format(index=self.index)}.2"

    def exec_args(self, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def forward(self, url: str) -> str:
        """A socat on this host's veth address forwarding to the loopback service of `url`;
        returns the URL the namespace uses instead."""
        parts = urlsplit(url)
        port = _free_port(self.host_ip)
        self.forwarders.append(
            subprocess.Popen(
                [
                    "socat",
                    f"TCP-LISTEN:{port},bind={self.host_ip},reuseaddr,fork",
                    f"TCP:{parts.hostname}:{parts.port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        _wait_listening(self.host_ip, port, self.forwarders[-1])
        userinfo = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{userinfo}{self.host_ip}:{port}"))

    def kill(self) -> None:
        """SIGKILL this host's media process and worker (their whole groups): a host lost."""
        for proc in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.processes.values():
            proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in [*self.processes.values(), *self.forwarders]:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in [*self.processes.values(), *self.forwarders]:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_listening(host: str, port: int, proc: subprocess.Popen) -> None:
    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"socat on {host}:{port} exited with {proc.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((host, port)) == 0

    wait_for(listening, timeout=10, what=f"a forwarder on {host}:{port}")


def _remove(host: Host) -> None:
    # Processes still inside (a worker child that outlived its parent) would keep it alive.
    for pid_text in _run("ip", "netns", "pids", host.name, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_text), signal.SIGKILL)
    _run("ip", "netns", "delete", host.name, check=False)
    _run("ip", "link", "delete", host.host_if, check=False)


@contextlib.contextmanager
def host_namespace(letter: str, index: int, ports: range) -> Iterator[Host]:
    """The namespace `aphost-<letter>` joined by a veth pair on 10.231.<index>.0/24."""
    host = Host(letter=letter, index=index, ports=ports)
    _remove(host)  # left by a killed run: the names are fixed
    try:
        _run("ip", "netns", "add", host.name)
        _run("ip", "link", "add", host.host_if, "type", "veth", "peer", "name", host.ns_if)
        _run("ip", "link", "set", host.ns_if, "netns", host.name)
        _run("ip", "addr", "add", f"{host.host_ip}/24", "dev", host.host_if)
        _run("ip", "link", "set", host.host_if, "up")
        inside = ("ip", "netns", "exec", host.name, "ip")
        _run(*inside, "addr", "add", f"{host.ns_ip}/24", "dev", host.ns_if)
        _run(*inside, "link", "set", host.ns_if, "up")
        _run(*inside, "link", "set", "lo", "up")
        _run(*inside, "route", "add", "default", "via", host.host_ip)
        yield host
    finally:
        host.stop()
        _remove(host)


@dataclass
class MultiHostStack(Stack):
    """One web in the root namespace; a media process and a worker in each host's namespace.

    Every process runs on the one Redis and the one PostgreSQL of `env` (the hosts through
    their forwarders). The web listens on 127.0.0.1: the agents run in the root namespace.
    """

    hosts: list[Host] = field(default_factory=list)

    def start(self) -> MultiHostStack:
        self._spawn("web", self.web_command())
        try:
            for host in self.hosts:
                self._start_host(host)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_host(self, host: Host) -> None:
        env = {
            **self.env,
            "REDIS_URL": host.forward(self.env["REDIS_URL"]),
            "DATABASE_URL": host.forward(self.env["DATABASE_URL"]),
            "PROCTOR_ICE_HOST_ADDRESSES": host.ns_ip,
            "PROCTOR_ICE_PORT_RANGE": f"{host.ports.start}-{host.ports.stop - 1}",
        }
        for kind, args in (("media", self.media_command()), ("worker", self.worker_command())):
            name = f"{kind}-{host.letter}"
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
            proc = subprocess.Popen(
                host.exec_args(args),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            host.processes[kind] = proc
            self.processes[name] = proc

    def wait_ready(self) -> None:
        def ready() -> bool:
            self._check_alive()
            return self._web_ready() and all(self._host_ready(h) for h in self.hosts)

        wait_for(ready, timeout=PROCESS_READY_TIMEOUT_S, what="web and every host to be ready")

    def _host_ready(self, host: Host) -> bool:
        media = self.log(f"media-{host.letter}")
        if MEDIA_READY_MARK not in media or WORKER_READY_MARK not in self.log(
            f"worker-{host.letter}"
        ):
            return False
        host.node = NODE_LINE.search(media).group(1)
        # Its heartbeat came through the forwarder: the web can place offers on it.
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        return client.zscore(NODES_KEY, host.node) is not None

    def host_of(self, node: str) -> Host:
        return next(h for h in self.hosts if h.node == node)

    def stop(self) -> None:
        super().stop()
        for host in self.hosts:
            host.stop()
