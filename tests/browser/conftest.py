"""Real headless Chromium (Debian's `chromium`, driven by Playwright) in a network namespace, the
real stack (web, media, Celery worker on PostgreSQL and Redis) and a real coturn on the host.

One namespace, coturn and stack serve the whole package (session scope); each test gets its own
Chromium with a fresh profile, its own client and attempt, and reads the attempt's violations and
score from the REST API, as an integrator would.
"""

import base64
import contextlib
import functools
import http.server
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_lib
from django.conf import settings
from django.db import connection

import protocol
from agent.events import shape_problems
from proctoring import signing
from proctoring.api.cors import forget_cached_origins
from proctoring.services.clients import NewClient, client_create
from scripts.stack import Stack
from tests.browser import lab
from tests.conftest import MEDIA_DIR, basic_auth
from tests.e2e.conftest import stack_env

PAGES = Path(__file__).resolve().parent / "pages"
DEMO_CLIENT_ID = "cl_browser_demo"
EVENT_NAMES = sorted(protocol.event_names())
EVENT_TIMEOUT_S = 45
SCORED_TIMEOUT_S = 120

WHY_NOT = lab.available()


# -- the lab: namespace, coturn, stack, exam pages on other origins -------------------------------


@pytest.fixture(scope="session")
def lab_ns():
    if WHY_NOT:
        pytest.skip(f"the browser lab {WHY_NOT}")
    with lab.netns() as ns:
        yield ns


@pytest.fixture(scope="session")
def turn(lab_ns, tmp_path_factory):
    with lab.coturn(lab_ns.host_ip, tmp_path_factory.mktemp("coturn")) as running:
        yield running


@pytest.fixture(scope="session")
def browser_stack(lab_ns, turn, django_db_setup, django_db_blocker, tmp_path_factory):
    """The stack on the veth's host address; the media process offers that address and a
    fixed UDP range; TURN (coturn over TCP and UDP) is handed to browsers."""
    redis_lib.Redis.from_url(settings.REDIS_URL).flushdb()
    with django_db_blocker.unblock():
        env = stack_env(
            PROCTOR_ICE_HOST_ADDRESSES=lab_ns.host_ip,
            PROCTOR_ICE_PORT_RANGE=f"{lab.MEDIA_PORTS[0]}-{lab.MEDIA_PORTS[1]}",
            PROCTOR_TURN_URLS=f"{turn.url_udp},{turn.url_tcp}",
            PROCTOR_TURN_SECRET=turn.secret,
            PROCTOR_SDK_DEMO_CLIENT_ID=DEMO_CLIENT_ID,
            # Each test lists its own origins on a fresh client: read them on every request.
            PROCTOR_CORS_ORIGINS_CACHE_S="0",
        )
        logs = tmp_path_factory.mktemp("browser-stack-logs")
        stack = Stack(env=env, log_dir=logs, host=lab_ns.host_ip)
        with stack as running:
            yield running
        for name in ("web", "media", "worker"):
            sys.stdout.write(f"--- {name} log (tail) ---\n{running.log(name)[-2000:]}\n")
        _wait_for_other_sessions_to_close()


def _wait_for_other_sessions_to_close(timeout: float = 10.0) -> None:
    """The stack's processes are gone, but PostgreSQL may not have ended their sessions yet:
    the test database is dropped next, and it refuses while any session is open."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.2)


class _Pages(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass


@contextlib.contextmanager
def _page_server(host: str) -> Iterator[str]:
    handler = functools.partial(_Pages, directory=str(PAGES))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def exam_origin(lab_ns):
    """An exam platform's origin, which the test's client lists."""
    with _page_server(lab_ns.host_ip) as origin:
        yield origin


@pytest.fixture(scope="session")
def foreign_origin(lab_ns):
    """An origin no client lists."""
    with _page_server(lab_ns.host_ip) as origin:
        yield origin


@pytest.fixture
def playwright_driver(monkeypatch):
    """Playwright's sync API runs an event loop in this thread while it is up, which Django takes
    for async code: its database calls from the test are still plain synchronous calls."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    with sync_playwright() as driver:
        yield driver


# -- clients and attempts ---------------------------------------------------------------------


@pytest.fixture
def stack(browser_stack, transactional_db):
    forget_cached_origins()
    return browser_stack


@pytest.fixture
def exam_client(stack, exam_origin) -> NewClient:
    created = client_create(name="Exam platform on its own origin")
    created.client.allowed_origins = [exam_origin]
    created.client.candidate_sees_score = True
    created.client.save()
    return created


@pytest.fixture
def demo_client(stack) -> NewClient:
    """The client the demo page signs for (PROCTOR_SDK_DEMO_CLIENT_ID)."""
    created = client_create(name="Demo exam platform")
    created.client.client_id = DEMO_CLIENT_ID
    created.client.candidate_sees_score = True
    created.client.save()
    return created


def credentials(client: NewClient, attempt_id: str) -> dict[str, str]:
    return {
        "clientId": client.client.client_id,
        "testAttemptId": attempt_id,
        "hashedTestAttemptId": signing.hash_test_attempt_id(
            client_secret=client.client_secret, test_attempt_id=attempt_id
        ),
    }


def exam_url(origin: str, stack: Stack, creds: dict, options: Any, *, auto: bool = True) -> str:
    config = {"server": stack.url, "credentials": creds, "options": options, "autoBegin": auto}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    return f"{origin}/exam.html#config={encoded}"


@dataclass
class Integrator:
    """The exam platform's backend: reads attempts over the REST API with its secret."""

    http: httpx.Client

    def attempt(self, attempt_id: str) -> dict:
        response = self.http.get(f"/api/v1/attempts/{attempt_id}/")
        response.raise_for_status()
        return response.json()

    def exists(self, attempt_id: str) -> bool:
        return self.http.get(f"/api/v1/attempts/{attempt_id}/").status_code == 200

    def evidence(self, attempt_id: str) -> list[dict]:
        response = self.http.get(f"/api/v1/attempts/{attempt_id}/evidence/")
        response.raise_for_status()
        return response.json()

    def scored(self, attempt_id: str, timeout: float = SCORED_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = self.attempt(attempt_id)
            if found["status"] == "stopped":
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{attempt_id} not scored in {timeout} s: {found['status']}")
            time.sleep(0.5)

    def wait(self, attempt_id: str, check: Callable[[dict], bool], timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            found = self.attempt(attempt_id) if self.exists(attempt_id) else None
            if found is not None and check(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s ({found})")
            time.sleep(0.5)


def integrator_for(stack: Stack, client: NewClient) -> Integrator:
    auth = basic_auth(client.client.client_id, client.client_secret)
    return Integrator(httpx.Client(base_url=stack.url, headers={"Authorization": auth}, timeout=30))


def violation_types(attempt: dict) -> set[str]:
    return {v["type"] for v in attempt["violations"]}


def session_rows(attempt_id: str) -> list:
    """The attempt's media sessions, read fresh (the stack's processes wrote them)."""
    from proctoring.models import MediaSession

    connection.close()
    found = MediaSession.objects.filter(attempt__test_attempt_id=attempt_id)
    return list(found.order_by("created_at"))


# -- one candidate: a Chromium in the namespace ---------------------------------------------------


@dataclass
class Candidate:
    """A candidate's browser: every ap* event the page sees is recorded, with its detail."""

    page: Any
    context: Any
    browser: Any
    events: list[tuple[str, dict, float]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def record(self, source, name: str, detail: Any) -> None:
        self.events.append((name, detail if isinstance(detail, dict) else {}, time.monotonic()))

    def named(self, name: str) -> list[dict]:
        return [detail for event, detail, _ in self.events if event == name]

    def names(self) -> list[str]:
        return [event for event, _, _ in self.events]

    def codes(self, name: str, field_name: str) -> list[int]:
        return [detail[field_name] for detail in self.named(name)]

    def wait_for(
        self,
        name: str,
        check: Callable[[dict], bool] = lambda d: True,
        timeout: float = EVENT_TIMEOUT_S,
        after: int = 0,
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event, detail, _ in self.events[after:]:
                if event == name and check(detail):
                    return detail
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {name} within {timeout} s; events: {self.summary()}\n"
                    f"console: {self.console[-20:]}"
                )
            self.page.wait_for_timeout(100)

    def summary(self) -> list[str]:
        out = []
        for name, detail, _ in self.events:
            fields = ("errorCode", "evidenceCode", "successCode")
            code = next((detail[f] for f in fields if f in detail), None)
            out.append(f"{name}:{code}" if code else name)
        return out

    def shape_problems(self) -> list[str]:
        """Every recorded event checked against the protocol definition (the agent's checker)."""
        return [p for name, detail, _ in self.events for p in shape_problems(name, detail)]

    def focus_emulation_off(self) -> None:
        """Playwright tells every page it has focus; a candidate's page must learn the truth."""
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
        self._cdp = cdp

    def set_permissions(self, origin: str, **settings: str) -> None:
        """Browser.setPermission for this candidate's profile: camera="denied", …"""
        cdp = self.context.new_cdp_session(self.page)
        context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
        browser_cdp = self.browser.new_browser_cdp_session()
        for name, setting in settings.items():
            browser_cdp.send(
                "Browser.setPermission",
                {
                    "permission": {"name": name},
                    "setting": setting,
                    "origin": origin,
                    "browserContextId": context_id,
                },
            )

    def target_id(self) -> str:
        cdp = self.context.new_cdp_session(self.page)
        return cdp.send("Target.getTargetInfo")["targetInfo"]["targetId"]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.browser.close()


RECORDER = """
(() => {
  for (const name of %s) {
    window.addEventListener(name, (event) => window.__apRecord(name, event.detail));
  }
})();
"""


@pytest.fixture
def launch(playwright_driver, lab_ns, browser_stack, exam_origin, foreign_origin, tmp_path):
    """launch(extra_args=..., user_agent=..., fake=...) -> Candidate; every one is closed after."""
    started: list[Candidate] = []
    wrapper = lab.chromium_in(lab_ns, tmp_path)
    secure = ",".join([browser_stack.url, exam_origin, foreign_origin])

    def start(
        *,
        args: list[str] | None = None,
        fake: dict | None = None,
        devices: bool = True,
        secure_context: bool = True,
        **context_kw,
    ):
        flags = [*lab.CHROMIUM_ARGS, *(args or [])]
        if secure_context:
            # The lab's pages are plain HTTP on a private address: secure contexts for the
            # test, as HTTPS (the compose file's Caddy) makes them in production.
            flags.append(f"--unsafely-treat-insecure-origin-as-secure={secure}")
        if devices:
            flags += lab.fake_device_args(MEDIA_DIR, **(fake or {}))
        else:  # no camera, no microphone, no screen source: prompts still answered
            flags.append("--use-fake-ui-for-media-stream")
        browser = playwright_driver.chromium.launch(
            executable_path=str(wrapper), headless=True, args=flags
        )
        context = browser.new_context(**context_kw)
        page = context.new_page()
        candidate = Candidate(page=page, context=context, browser=browser)
        context.expose_binding("__apRecord", candidate.record)
        context.add_init_script(RECORDER % json.dumps(EVENT_NAMES))
        page.on("console", lambda message: candidate.console.append(message.text))
        page.on("pageerror", lambda error: candidate.console.append(f"pageerror: {error}"))
        started.append(candidate)
        return candidate

    yield start
    for candidate in started:
        problems = candidate.shape_problems()
        candidate.close()
        assert not problems, f"events that disagree with protocol.json: {problems}"


# What the page's peer connection has sent, per stream (camera, microphone, screen): packets,
# bytes and frames from getStats(), for the bandwidth and packet-rate checks.
SENDER_STATS = """async () => {
  const pc = apInst._pc;
  const out = {at: performance.now() / 1000};
  for (const report of (await pc.getStats()).values()) {
    if (report.type === 'outbound-rtp') {
      out[apInst._roles[report.mid]] = {
        packets: report.packetsSent, bytes: report.bytesSent, frames: report.framesEncoded,
        width: report.frameWidth, height: report.frameHeight,
      };
    }
    if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') {
      const local = (await pc.getStats()).get(report.localCandidateId);
      out.path = {type: local.candidateType, protocol: local.protocol, relay: local.relayProtocol};
    }
  }
  return out;
}"""


def sender_rates(candidate: Candidate, seconds: float) -> dict:
    """Per stream, packets/s, kbit/s and frames/s sent over `seconds`, and the ICE path."""
    first = candidate.page.evaluate(SENDER_STATS)
    candidate.page.wait_for_timeout(seconds * 1000)
    last = candidate.page.evaluate(SENDER_STATS)
    span = last["at"] - first["at"]
    rates = {"path": last.get("path")}
    for role in ("camera", "microphone", "screen"):
        if role in last and role in first:
            a, b = first[role], last[role]
            rates[role] = {
                "packets_per_s": (b["packets"] - a["packets"]) / span,
                "kbps": 8 * (b["bytes"] - a["bytes"]) / span / 1000,
                "fps": ((b["frames"] or 0) - (a["frames"] or 0)) / span,
                "width": b["width"],
                "height": b["height"],
            }
    return rates
