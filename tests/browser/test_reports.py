"""Embeddable reports in real headless Chromium (issue #19): a report minted by the API renders
inside an iframe on an integrator's origin the client lists, and Chromium refuses it on one the
client does not list (CSP frame-ancestors); expired and tampered links are refused; the report
and results pages pass axe-core with no serious or critical violation; a screenshot of the
report goes to docs/img/report.png (`make screenshots`).

The Django live server (a thread of this process, on localhost) serves the reports; a second
HTTP server on 127.0.0.1 and another port is the integrator's origin. No WebRTC: no network
namespace is needed, only Debian's chromium.
"""

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proctoring import signing
from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, screenshot_dir
from tests.conftest import basic_auth
from tests.proctoring.builders import results_query
from tests.proctoring.factories import scored_attempt

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOT = screenshot_dir() / "report.png"
FRAME_TIMEOUT_MS = 15_000
BLOCKING = ("serious", "critical")


@pytest.fixture(autouse=True)
def _chromium_present(settings, tmp_path):
    """Debian's chromium is needed; evidence files go to this test's own folder."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs {CHROMIUM} (requirements/apt.txt)")
    settings.MEDIA_ROOT = tmp_path / "media"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _site(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def integrator_site(tmp_path) -> Iterator[tuple[str, Path]]:
    """The integrator's origin: pages written into `folder` are served from `origin`."""
    folder = tmp_path / "site"
    folder.mkdir()
    with _site(folder) as origin:
        yield origin, folder


@pytest.fixture
def browser(playwright_driver):
    launched = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def reporting_client(live_server, transactional_db, new_client):
    """A client with a scored attempt (violations, a photo, an audio clip) and branding."""
    yield _reporting_client(new_client)


def _reporting_client(new_client):
    client = new_client.client
    client.display_name = "Acme Exams"
    client.save()
    attempt = scored_attempt(new_client, "exam-42", score=61.5, lookup_key="course-7")
    attempt.user_details = {"name": "Ada Lovelace"}
    attempt.coverage = {
        "camera": {"required": True, "analysed_s": 1780.0, "delivered_s": 1790.0, "ratio": 0.99},
        "microphone": {"required": True, "analysed_s": 1800.0, "delivered_s": 1800.0, "ratio": 1},
    }
    attempt.save()
    return new_client


def mint(live_server, client, attempt_id: str = "exam-42", **body) -> str:
    auth = basic_auth(client.client.client_id, client.client_secret)
    response = httpx.post(
        f"{live_server.url}/api/v1/attempts/{attempt_id}/report-link/",
        json=body,
        headers={"Authorization": auth},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["url"]


def embed(folder: Path, report_url: str) -> str:
    (folder / "lms.html").write_text(
        "<!doctype html><html lang='en'><head><title>LMS</title></head><body>"
        "<h1>Course 7</h1>"
        f"<iframe id='report' title='Proctoring report' src='{report_url}' "
        "width='1000' height='800'></iframe></body></html>"
    )
    return "lms.html"


def report_frame(page):
    return next(frame for frame in page.frames if "/reports/attempt/" in frame.url)


def test_a_report_renders_in_an_iframe_on_a_listed_origin(
    live_server, reporting_client, integrator_site, browser
):
    origin, folder = integrator_site
    reporting_client.client.report_frame_ancestors = [origin]
    reporting_client.client.save()
    page = browser.new_page()
    page.goto(f"{origin}/{embed(folder, mint(live_server, reporting_client))}")
    page.wait_for_load_state("load")
    frame = report_frame(page)
    frame.wait_for_selector("h1", timeout=FRAME_TIMEOUT_MS)
    assert frame.inner_text("h1") == "Proctoring report"
    assert "61.5" in frame.inner_text(".score-card")
    assert "Ada Lovelace" in frame.inner_text(".summary")
    assert frame.locator(".violations tbody tr").count() == 2
    # The evidence photo loads inside the frame, through its signed link, once scrolled to.
    frame.locator(".evidence img").scroll_into_view_if_needed()
    frame.wait_for_function(
        "() => [...document.images].every(i => i.complete)", timeout=FRAME_TIMEOUT_MS
    )
    loaded = frame.evaluate(
        "() => [...document.images].filter(i => i.src.includes('/evidence/download/'))"
        ".map(i => i.complete && i.naturalWidth)"
    )
    assert loaded == [64]


def test_chromium_refuses_the_report_on_an_origin_the_client_does_not_list(
    live_server, reporting_client, integrator_site, browser
):
    origin, folder = integrator_site
    reporting_client.client.report_frame_ancestors = ["https://lms.acme.example"]
    reporting_client.client.save()
    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    url = mint(live_server, reporting_client)
    page.goto(f"{origin}/{embed(folder, url)}")
    page.wait_for_load_state("load")
    deadline = time.monotonic() + FRAME_TIMEOUT_MS / 1000
    while not any("frame-ancestors" in line for line in console):
        assert time.monotonic() < deadline, f"no CSP refusal in the console: {console}"
        page.wait_for_timeout(100)
    child = page.frames[1]
    assert "Proctoring report" not in (child.content() if child.url.startswith("http") else "")
    assert any(url.split("/reports/")[0] in line for line in console if "frame" in line)
    # The same URL opened on its own is fine: the refusal was about who framed it.
    alone = browser.new_page()
    assert alone.goto(url).status == 200


def test_expired_and_tampered_report_urls_are_refused(live_server, reporting_client, browser):
    client = reporting_client.client
    attempt = client.attempts.get(test_attempt_id="exam-42")
    expired = signing.report_link_token(
        client_id=client.client_id, attempt_id=attempt.pk, expires_at=int(time.time()) - 5
    )
    page = browser.new_page()
    response = page.goto(f"{live_server.url}/reports/attempt/{expired}/")
    assert response.status == 410
    assert page.inner_text("h1") == "This report link has expired"
    assert page.get_attribute(".refusal", "data-code") == "link_expired"

    url = mint(live_server, reporting_client)
    token = url.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    response = page.goto(url.replace(token, tampered))
    assert response.status == 403
    assert page.get_attribute(".refusal", "data-code") == "invalid_link"
    assert page.inner_text("h1") == "This report link is not valid"
    assert page.locator(".score-card").count() == 0


def _realistic_evidence(client) -> None:
    """For the screenshot: a photo of two people and a speech clip from the shared media."""
    from django.core.files.base import ContentFile

    from tests.conftest import MEDIA_DIR
    from tests.proctoring.factories import EvidenceFactory, ViolationFactory

    attempt = client.client.attempts.get(test_attempt_id="exam-42")
    photo = (MEDIA_DIR / "two_faces.png").read_bytes()
    EvidenceFactory(attempt=attempt, at_s=70.0, file=ContentFile(photo, name="two.png"))
    ViolationFactory(attempt=attempt, type="speech", start_s=900.0, end_s=924.0)
    clip = (MEDIA_DIR / "speech_en.wav").read_bytes()
    EvidenceFactory(
        attempt=attempt,
        type="speech",
        kind="audio",
        at_s=900.0,
        file=ContentFile(clip, name="speech.wav"),
    )


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result
        if v["impact"] in BLOCKING
    ]


def test_report_and_results_pages_pass_axe_and_the_report_is_photographed(
    live_server, reporting_client, browser
):
    _realistic_evidence(reporting_client)
    # axe is injected as a script, which the pages' own CSP refuses: this context bypasses it.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(mint(live_server, reporting_client))
    page.wait_for_load_state("networkidle")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert _axe(page) == []

    scored_attempt(reporting_client, "exam-43", score=93.0, lookup_key="course-7")
    query = results_query(reporting_client.client.client_id, reporting_client.client_secret)
    page.goto(f"{live_server.url}/reports/results/?" + str(httpx.QueryParams(query)))
    assert page.locator("table.results tbody tr").count() == 2
    assert _axe(page) == []
    page.click("text=Report for exam-43")
    page.wait_for_selector("h1")
    assert "93.0" in page.inner_text(".score-card")
    context.close()


def webm_bytes(seconds: float = 4.0, fps: int = 10) -> bytes:
    """A small VP8 WebM (a bar moving across), as recordSession writes one."""
    import io

    import av
    import numpy as np

    buffer = io.BytesIO()
    container = av.open(buffer, mode="w", format="webm")
    stream = container.add_stream("libvpx", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    for index in range(int(seconds * fps)):
        image = np.zeros((120, 160, 3), np.uint8)
        image[:, (index * 4) % 152 :][:, :8] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return buffer.getvalue()


def test_the_recording_plays_in_the_report_and_seeks_with_byte_ranges(
    live_server, reporting_client, browser
):
    from django.core.files.base import ContentFile

    from tests.proctoring.factories import MediaSessionFactory

    attempt = reporting_client.client.attempts.get(test_attempt_id="exam-42")
    session = MediaSessionFactory(attempt=attempt)
    session.recording.save(f"{session.pk}.webm", ContentFile(webm_bytes()))
    page = browser.new_page()
    ranged: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: (
            "/recordings/download/" in r.url
            and ranged.append((r.status, r.headers.get("content-range", "")))
        ),
    )
    page.goto(mint(live_server, reporting_client))
    video = page.locator("video")
    assert video.count() == 1
    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
          const v = document.querySelector('video');
          const done = () => resolve(v.duration);
          if (v.readyState >= 1) { done(); } else { v.addEventListener('loadedmetadata', done); }
          v.addEventListener('error', () => reject(new Error('media error ' + v.error.code)));
          v.load();
        })"""
    )
    assert 3.5 <= duration <= 4.5
    landed = page.evaluate(
        """() => new Promise((resolve) => {
          const v = document.querySelector('video');
          v.addEventListener('seeked', () => resolve(v.currentTime), {once: true});
          v.currentTime = 3.0;
        })"""
    )
    assert abs(landed - 3.0) < 0.2
    assert ranged and all(status == 206 for status, _ in ranged), ranged
    assert all(header.startswith("bytes ") for _, header in ranged)
