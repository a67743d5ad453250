"""8. What a browser candidate costs the server, next to a Python-agent candidate, in one run.

One stack (web, media process, Celery worker on PostgreSQL and Redis) serves, in turn and
interleaved: N real Python agents (the agent's CLI, the shared Y4M camera and WAV microphone)
and N real headless Chromiums (autoproctor.js on an exam page, Chromium's fake camera and
microphone playing the same two files), the Chromiums in a network namespace (tests/browser/
lab.py). Both send camera and microphone with the headless options (no screen); a third phase
adds the browser's shared screen. For each phase the CPU seconds of the server's processes are
read over a window once every candidate streams, and divided by N. Needs root (ip netns) and
Debian's chromium; without them the benchmark says so and reports nothing.
"""

import base64
import contextlib
import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cpu, env
from bench.capacity import CpuProbe, stack_cores
from bench.report import fmt, summary, table
from bench.stack import FINALIZE_TIMEOUT_S, UNTHROTTLED, Credentials, new_client
from scripts.stack import HEADLESS_TRACKING
from tests.browser import lab

NAME = "browser_cost"
TITLE = "8. A browser candidate's server cost next to a Python agent's (same run)"
N = {"full": 3, "quick": 2}
WINDOW_S = {"full": 30, "quick": 12}
REPS = {"full": 2, "quick": 1}
WARMUP_S = 8
START_TIMEOUT_S = 60
PAGES = env.ROOT / "tests" / "browser" / "pages"
PHASES = {
    "agent": "Python agent (camera + microphone)",
    "browser": "browser (camera + microphone)",
    "browser_screen": "browser (camera + microphone + screen)",
    "browser_defaults": "browser with Chrome's defaults (no sending policy; camera + microphone)",
}
# The baseline: what Chrome sends when neither the SDK's sender limits nor the answer's lines
# (ptime, bitrates) apply, as in issue #17's first try. Emulated in the page: the transceivers
# lose their encodings, and the answer its policy lines before Chrome reads it.
NO_POLICY = """
const addTransceiver = RTCPeerConnection.prototype.addTransceiver;
RTCPeerConnection.prototype.addTransceiver = function (track, init) {
  return addTransceiver.call(this, track, {direction: init.direction, streams: init.streams});
};
RTCRtpSender.prototype.setParameters = function () { return Promise.resolve(); };
const setRemoteDescription = RTCPeerConnection.prototype.setRemoteDescription;
RTCPeerConnection.prototype.setRemoteDescription = function (description) {
  const sdp = description.sdp.split('\\r\\n')
    .filter((line) => !line.startsWith('a=ptime') && !line.startsWith('b='))
    .map((line) => line.replace(/;?x-google-[a-z-]+=\\d+/g, '').replace(/^(a=fmtp:\\d+ );/, '$1'))
    .filter((line) => !/^a=fmtp:\\d+ ?$/.test(line))
    .join('\\r\\n');
  return setRemoteDescription.call(this, {type: description.type, sdp});
};
"""
SERVER_GROUPS = ("media", "web", "worker", "postgres", "postgres_helpers", "redis")
SENDER_STATS = """async () => {
  const out = {at: performance.now() / 1000};
  for (const r of (await apInst._pc.getStats()).values()) {
    if (r.type === 'outbound-rtp') out[apInst._roles[r.mid]] = {packets: r.packetsSent};
  }
  return out;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _pages(host: str):
    server = http.server.ThreadingHTTPServer(
        (host, 0), functools.partial(_Quiet, directory=str(PAGES))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _hashed(creds: Credentials, attempt_id: str) -> str:
    from proctoring import signing

    return signing.hash_test_attempt_id(
        client_secret=creds.client_secret, test_attempt_id=attempt_id
    )


class AgentPhase:
    """N agent processes, each streaming until it is told to stop (SIGINT: its stop())."""

    def __init__(self, stack: Any, creds: Credentials, host_ip: str, tag: str, n: int) -> None:
        options = json.dumps({"trackingOptions": HEADLESS_TRACKING})
        self.procs: list[subprocess.Popen] = []
        self.started = 0
        self._lock = threading.Lock()
        for i in range(n):
            attempt = f"bc-{tag}-agent-{i}"
            args = [
                *(sys.executable, "-m", "agent", "run", "--server", stack.url),
                *("--client-id", creds.client_id, "--test-attempt-id", attempt),
                *("--hashed-test-attempt-id", _hashed(creds, attempt)),
                *("--camera", str(env.MEDIA_DIR / "fake_camera_640x480_15fps_2s.y4m")),
                *("--microphone", str(env.MEDIA_DIR / "fake_mic_16k_2s.wav")),
                *("--ice-host", host_ip, "--json", "--options", options),
            ]
            proc = subprocess.Popen(
                args,
                cwd=env.ROOT,
                env=env.bench_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            if '"apMonitoringStarted"' in line:
                with self._lock:
                    self.started += 1

    def wait_started(self, n: int) -> None:
        _wait(lambda: self.started >= n, "agents to start")

    def sender_pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def stats(self) -> None:
        return None  # the agent reports no sender statistics

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)  # the agent's Ctrl-C: stop()
        for proc in self.procs:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class BrowserPhase:
    """N Chromiums in the namespace, each on the exam page, each its own browser process."""

    def __init__(
        self, driver, ns, wrapper: Path, stack, creds, origin, tag, n, screen, policy=True
    ) -> None:
        self.ns = ns
        self.browsers = []
        self.pages = []
        self.started = 0
        tracking = {**HEADLESS_TRACKING, "captureSwitchedTab": screen}
        for i in range(n):
            attempt = f"bc-{tag}-browser-{i}"
            browser = driver.chromium.launch(
                executable_path=str(wrapper),
                headless=True,
                args=[
                    *lab.CHROMIUM_ARGS,
                    f"--unsafely-treat-insecure-origin-as-secure={stack.url},{origin}",
                    *lab.fake_device_args(env.MEDIA_DIR),
                ],
            )
            page = browser.new_page()
            if not policy:
                page.add_init_script(NO_POLICY)
            page.expose_binding("__started", lambda source: self._count())
            page.add_init_script(
                "window.addEventListener('apMonitoringStarted', () => window.__started());"
            )
            config = {
                "server": stack.url,
                "credentials": {
                    "clientId": creds.client_id,
                    "testAttemptId": attempt,
                    "hashedTestAttemptId": _hashed(creds, attempt),
                },
                "options": {"trackingOptions": tracking},
                "autoBegin": True,
            }
            encoded = base64.b64encode(json.dumps(config).encode()).decode()
            page.goto(f"{origin}/exam.html#config={encoded}")
            self.browsers.append(browser)
            self.pages.append(page)

    def _count(self) -> None:
        self.started += 1

    def wait_started(self, n: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.started < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.started}/{n} browsers started")
            self.pages[0].wait_for_timeout(200)

    def sender_pids(self) -> list[int]:
        listed = subprocess.run(
            ["ip", "netns", "pids", self.ns.name], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in listed.split()]

    def stats(self) -> list[dict]:
        return [page.evaluate(SENDER_STATS) for page in self.pages]

    def pause(self, seconds: float) -> None:
        # Playwright's calls (the started binding) run while it waits, not in time.sleep.
        self.pages[0].wait_for_timeout(seconds * 1000)

    def stop(self) -> None:
        for page in self.pages:
            with contextlib.suppress(Exception):
                page.evaluate("apInst.stop()")
        if self.pages:
            self.pages[0].wait_for_timeout(2000)  # the stop beacons leave
        for browser in self.browsers:
            with contextlib.suppress(Exception):
                browser.close()


def _wait(check, what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def packet_rates(first: list[dict], last: list[dict]) -> dict[str, float]:
    """Packets/s per stream and in all, averaged over the browsers."""
    totals: dict[str, float] = {}
    for a, b in zip(first, last, strict=True):
        span = b["at"] - a["at"]
        for role in ("camera", "microphone", "screen"):
            if role in a and role in b:
                rate = (b[role]["packets"] - a[role]["packets"]) / span
                totals[role] = totals.get(role, 0.0) + rate / len(first)
    totals["all"] = sum(totals.values())
    return totals


def measure(phase, probe: CpuProbe, n: int, window_s: float, idle: dict) -> dict[str, Any]:
    phase.wait_started(n)
    phase.pause(WARMUP_S)
    groups = probe.groups()
    groups["senders"] = phase.sender_pids()
    start = cpu.snapshot(groups)
    first = phase.stats()
    phase.pause(window_s)
    groups["senders"] = phase.sender_pids()
    end = cpu.snapshot(groups)
    cores = cpu.cores(start, end)
    result = {
        "n": n,
        "media_pct_per_candidate": 100 * (cores["media"] - idle["media"]) / n,
        "server_pct_per_candidate": 100 * (stack_cores(cores) - stack_cores(idle)) / n,
        "sender_pct_per_candidate": 100 * cores["senders"] / n,
        "machine_pct": 100 * cores["machine"],
        "by_process_pct": {g: 100 * cores[g] for g in SERVER_GROUPS},
    }
    if first is not None:
        result["packets_per_s"] = packet_rates(first, phase.stats())
    return result


@dataclass
class Setting:
    """What every phase of one run shares."""

    stack: Any
    creds: Credentials
    ns: lab.Netns
    wrapper: Path
    origin: str
    probe: CpuProbe
    idle: dict[str, float]
    n: int
    window_s: float


def run(mode: str) -> dict[str, Any]:
    why_not = lab.available()
    if why_not:
        return {"skipped": f"the browser lab {why_not}"}
    from scripts.stack import Stack

    env.truncate_tables()
    env.flush_redis()
    phases: dict[str, list[dict]] = {name: [] for name in PHASES}
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp, lab.netns(index=7) as ns:
        stack = Stack(
            env=env.bench_env(
                PROCTOR_FINALIZE_TIMEOUT_S=FINALIZE_TIMEOUT_S,
                PROCTOR_ICE_HOST_ADDRESSES=ns.host_ip,
                PROCTOR_ICE_PORT_RANGE=f"{lab.MEDIA_PORTS[0]}-{lab.MEDIA_PORTS[1]}",
                PROCTOR_CORS_ORIGINS_CACHE_S="0",
                **UNTHROTTLED,
            ),
            log_dir=Path(tmp) / "logs",
            host=ns.host_ip,
        )
        stack.start()
        try:
            with _pages(ns.host_ip) as origin:
                setting = _setting(stack, ns, Path(tmp), origin, mode)
                _run_phases(setting, REPS[mode], phases)
        finally:
            stack.stop()
    return {
        "n": N[mode],
        "window_s": WINDOW_S[mode],
        "reps": REPS[mode],
        "phases": phases,
        "summary": {
            name: {key: summary([r[key] for r in runs]) for key in PER_CANDIDATE}
            for name, runs in phases.items()
            if runs
        },
    }


PER_CANDIDATE = ("media_pct_per_candidate", "server_pct_per_candidate", "sender_pct_per_candidate")


def _setting(stack, ns: lab.Netns, tmp: Path, origin: str, mode: str) -> Setting:
    from proctoring.models import Client

    creds = new_client("bench browser cost")
    Client.objects.filter(client_id=creds.client_id).update(allowed_origins=[origin])
    probe = CpuProbe(stack, [])
    time.sleep(1.0)
    start = probe.snapshot()
    time.sleep(5.0)
    idle = cpu.cores(start, probe.snapshot())
    wrapper = lab.chromium_in(ns, tmp)
    return Setting(stack, creds, ns, wrapper, origin, probe, idle, N[mode], WINDOW_S[mode])


def _run_phases(setting: Setting, reps: int, phases: dict[str, list[dict]]) -> None:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM is not used meanwhile.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    s, n = setting, setting.n
    with sync_playwright() as driver:
        for rep in range(reps):
            for name in PHASES:
                tag = f"{rep}-{name}"
                print(f"[bench]   {PHASES[name]}: N={n}", file=sys.stderr, flush=True)
                if name == "agent":
                    phase = AgentPhase(s.stack, s.creds, s.ns.host_ip, tag, n)
                else:
                    screen = name == "browser_screen"
                    policy = name != "browser_defaults"
                    phase = BrowserPhase(
                        driver, s.ns, s.wrapper, s.stack, s.creds, s.origin, tag, n, screen, policy
                    )
                try:
                    result = measure(phase, s.probe, n, s.window_s, s.idle)
                finally:
                    phase.stop()
                phases[name].append(result)
                print(
                    f"[bench]     media {result['media_pct_per_candidate']:.2f} % of a core "
                    f"per candidate, server {result['server_pct_per_candidate']:.2f} %",
                    file=sys.stderr,
                    flush=True,
                )


def markdown(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"Not measured: {result['skipped']}."
    rows = []
    for name, label in PHASES.items():
        stats = result["summary"].get(name)
        if not stats:
            continue
        runs = result["phases"][name]
        packets = runs[-1].get("packets_per_s")
        rows.append(
            [
                label,
                fmt(stats["media_pct_per_candidate"]["median"]),
                fmt(stats["server_pct_per_candidate"]["median"]),
                fmt(stats["sender_pct_per_candidate"]["median"]),
                " / ".join(f"{k} {v:.1f}" for k, v in packets.items()) if packets else "—",
            ]
        )
    header = [
        "candidate",
        "media process, % of a core each",
        "whole server, % of a core each",
        "sender itself, % of a core each",
        "packets/s sent (browser's getStats)",
    ]
    note = (
        f"{result['n']} candidates at a time, {result['window_s']} s windows after "
        f"{WARMUP_S} s of warm-up, phases interleaved {result['reps']}×; medians. The server "
        "figures are above the stack's idle cost. The agent and the browsers send the headless "
        "options from the same Y4M and WAV; one browser row adds the shared screen, and the "
        "last one is Chrome's defaults, without the SDK's sender limits and the answer's "
        "ptime and bitrate lines (issue #17's first try)."
    )
    return note + "\n\n" + table(header, rows)


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    if "skipped" in result:
        return []
    agent = result["summary"]["agent"]["media_pct_per_candidate"]["median"]
    browser = result["summary"]["browser"]["media_pct_per_candidate"]["median"]
    return [
        (
            "a browser candidate costs the media process no more CPU than an agent candidate",
            f"{browser:.2f} % vs {agent:.2f} % of a core",
            browser <= agent,
        )
    ]
