"""A lab for real Chromium against the real stack: a network namespace, Chromium inside it with
fake devices, coturn on the host. Used by tests/browser and by the benchmark's browser sender.

Chromium never offers loopback ICE candidates, so it runs in a network namespace joined to the
host by a veth pair: the web, the media process and coturn listen on the host end's address, and
the media process offers that address as its ICE host candidate (PROCTOR_ICE_HOST_ADDRESSES).
Every namespace, link and rule made here carries the prefix `apsdk` and is removed by whoever
made it, even on failure; a namespace left by a killed run is removed by the next one.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFIX = "apsdk"
CHROMIUM = "/usr/bin/chromium"
TURNSERVER = "/usr/bin/turnserver"
# The UDP ports of this lab (others' tests use 41000-41019 and 41100-41139).
MEDIA_PORTS = (41300, 41339)
TURN_PORT = 41340
TURN_RELAY_PORTS = (41341, 41349)
# Flags every Chromium of the lab gets (Playwright adds its own and a fresh --user-data-dir).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def available() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns, veth, iptables)"
    for tool in (CHROMIUM, shutil.which("ip"), shutil.which("iptables")):
        if not tool or not Path(tool).exists():
            return "needs chromium, iproute2 and iptables (requirements/apt.txt)"
    return None


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=30)


@dataclass(frozen=True)
class Netns:
    name: str
    host_if: str
    ns_if: str
    host_ip: str
    ns_ip: str

    def exec(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run("ip", "netns", "exec", self.name, *args, check=check)


def _pid_of(name: str) -> int | None:
    try:
        return int(name.removeprefix(f"{PREFIX}-").split("-")[0])
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> None:
    """Namespaces of this lab whose process is gone (a killed run): removed with their links."""
    listed = _run("ip", "netns", "list", check=False).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0]
        pid = _pid_of(name) if name.startswith(f"{PREFIX}-") else None
        if pid is not None and not _alive(pid):
            _run("ip", "netns", "delete", name, check=False)
            _run("ip", "link", "delete", f"{PREFIX}{pid % 100000}h", check=False)


@contextlib.contextmanager
def netns(index: int = 0) -> Iterator[Netns]:
    """A namespace joined to the host by a veth pair with a /30 of 10.231.0.0/16; removed after."""
    remove_stale()
    pid = os.getpid()
    third = 20 + (pid + index) % 200
    ns = Netns(
        name=f"{PREFIX}-{pid}-{index}",
        host_if=f"{PREFIX}{pid % 100000}h{index}"[:15],
        ns_if=f"{PREFIX}{pid % 100000}n{index}"[:15],
        host_ip=f"10.231.{third}.1",
        ns_ip=f"10.231.{third}.2",
    )
    try:
        _run("ip", "netns", "add", ns.name)
        _run("ip", "link", "add", ns.host_if, "type", "veth", "peer", "name", ns.ns_if)
        _run("ip", "link", "set", ns.ns_if, "netns", ns.name)
        _run("ip", "addr", "add", f"{ns.host_ip}/30", "dev", ns.host_if)
        _run("ip", "link", "set", ns.host_if, "up")
        ns.exec("ip", "addr", "add", f"{ns.ns_ip}/30", "dev", ns.ns_if)
        ns.exec("ip", "link", "set", ns.ns_if, "up")
        ns.exec("ip", "link", "set", "lo", "up")
        ns.exec("ip", "route", "add", "default", "via", ns.host_ip)
        yield ns
    finally:
        # Processes still inside (a Chromium that did not close) would keep it alive.
        for pid_text in _run("ip", "netns", "pids", ns.name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_text), signal.SIGKILL)
        _run("ip", "netns", "delete", ns.name, check=False)
        _run("ip", "link", "delete", ns.host_if, check=False)


UDP_BLOCK_RULES = (
    ("OUTPUT", "-p", "udp", "-j", "DROP"),
    ("INPUT", "-p", "udp", "-j", "DROP"),
)


@contextlib.contextmanager
def udp_blocked(ns: Netns) -> Iterator[None]:
    """No UDP in or out of the namespace (a corporate network): only TCP reaches the host.
    The rules live in the namespace's own tables, and are removed after (the namespace too)."""
    added = []
    try:
        for chain, *rule in UDP_BLOCK_RULES:
            ns.exec("iptables", "-I", chain, *rule)
            added.append((chain, rule))
        yield
    finally:
        for chain, rule in added:
            ns.exec("iptables", "-D", chain, *rule, check=False)


@contextlib.contextmanager
def cut_off(ns: Netns) -> Iterator[None]:
    """Nothing in or out of the namespace (the candidate's network is down), removed after."""
    added = []
    try:
        for chain in ("OUTPUT", "INPUT"):
            ns.exec(
                "iptables",
                "-I",
                chain,
                "!",
                "-o" if chain == "OUTPUT" else "-i",
                "lo",
                "-j",
                "DROP",
            )
            added.append(chain)
        yield
    finally:
        for chain in added:
            ns.exec(
                "iptables",
                "-D",
                chain,
                "!",
                "-o" if chain == "OUTPUT" else "-i",
                "lo",
                "-j",
                "DROP",
                check=False,
            )


def chromium_in(ns: Netns, folder: Path) -> Path:
    """An executable that starts the system Chromium inside the namespace (for Playwright's
    executable_path: it keeps the pipe Playwright talks over)."""
    wrapper = folder / f"chromium-{ns.name}"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ns.name} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def fake_device_args(
    media_dir: Path,
    *,
    display: str = "monitor",
    camera: str = "fake_camera_640x480_15fps_2s.y4m",
    microphone: str = "fake_mic_16k_2s.wav",
    fake_ui: str | None = "",
) -> list[str]:
    """Chromium's fake camera, microphone and screen (the shared Y4M and WAV). `display` is what
    getDisplayMedia returns (monitor, window, browser); `fake_ui` "" accepts every prompt,
    "deny" refuses them, None leaves the prompts (permissions then come from CDP)."""
    args = [
        f"--use-fake-device-for-media-stream=display-media-type={display}",
        f"--use-file-for-fake-video-capture={media_dir / camera}",
        f"--use-file-for-fake-audio-capture={media_dir / microphone}",
    ]
    if fake_ui is not None:
        args.append("--use-fake-ui-for-media-stream" + (f"={fake_ui}" if fake_ui else ""))
    return args


def free_tcp_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Coturn:
    url_tcp: str
    url_udp: str
    secret: str
    process: subprocess.Popen
    log: Path

    def allocations(self) -> int:
        """Relay allocations coturn made (its log names each)."""
        return self.log.read_text(errors="replace").count("ALLOCATE processed, success")


# docker-compose.yml's coturn configuration: the lab runs exactly it, with its addresses, ports
# and secret set for the lab (what the compose file passes on its command line).
DEPLOY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "turnserver.conf"
LAB_KEYS = (
    "listening-port",
    "tls-listening-port",
    "min-port",
    "max-port",
    "cert",
    "pkey",
    "log-file",
)


def lab_turn_config(host_ip: str, secret: str, log_dir: Path) -> str:
    kept = [
        line
        for line in DEPLOY_CONFIG.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in LAB_KEYS
    ]
    return "\n".join(
        [
            *kept,
            f"listening-ip={host_ip}",
            f"relay-ip={host_ip}",
            f"listening-port={TURN_PORT}",
            f"min-port={TURN_RELAY_PORTS[0]}",
            f"max-port={TURN_RELAY_PORTS[1]}",
            f"static-auth-secret={secret}",
            f"realm={PREFIX}.test",
            # The media process's address: the only peer the deployed config relays to.
            f"allowed-peer-ip={host_ip}",
            "no-tls",
            "no-dtls",
            "verbose",
            f"log-file={log_dir / 'turnserver.log'}",
            f"pidfile={log_dir / 'turnserver.pid'}",
            "",
        ]
    )


@contextlib.contextmanager
def coturn(host_ip: str, log_dir: Path) -> Iterator[Coturn]:
    """A real coturn with the deployment's configuration, on the host end of the veth."""
    secret = secrets.token_urlsafe(24)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "turnserver.log"
    config = log_dir / "turnserver.conf"
    # The secret goes in a file only root reads, not on a command line others can list.
    config.touch(mode=0o600)
    config.write_text(lab_turn_config(host_ip, secret, log_dir))
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_listening(host_ip, TURN_PORT, process)
        yield Coturn(
            url_tcp=f"turn:{host_ip}:{TURN_PORT}?transport=tcp",
            url_udp=f"turn:{host_ip}:{TURN_PORT}?transport=udp",
            secret=secret,
            process=process,
            log=log,
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_listening(host: str, port: int, process: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"turnserver not listening on {host}:{port}")


def screenshot_dir() -> Path:
    """Where the browser tests write their screenshots: docs/img when asked for
    (`make screenshots`, UPDATE_SCREENSHOTS=1), else a scratch folder, so a test run never leaves
    the tracked pictures changed."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parents[2] / "docs" / "img"
    return Path(os.environ.get("TMPDIR", "/tmp")) / "autoproctor-screenshots"
