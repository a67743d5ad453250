"""The review desk in real headless Chromium (Debian's `chromium`, driven by Playwright): a
reviewer logs in through the admin's form, opens the list and an attempt, plays the session
recording (a real VP8/Opus WebM served with byte ranges), seeks by clicking a violation, confirms
one with the keyboard, and opens the dashboard. Screenshots go to docs/img/ for docs/review.md
(`make screenshots`).

No network namespace: the admin is plain HTTP on 127.0.0.1 (only WebRTC needs the lab)."""

import datetime as dt
import json
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from proctoring.models import Attempt, AttemptAuditEntry, ViolationReview
from proctoring.services.clients import NewClient
from scripts.stack import Stack
from tests.browser.lab import screenshot_dir
from tests.e2e.conftest import stack_env
from tests.e2e.test_proctoring_path import HEADLESS_OPTIONS, agent_args
from tests.proctoring.desk_data import desk_attempt
from tests.proctoring.factories import scored_attempt

CHROMIUM = "/usr/bin/chromium"
IMG = screenshot_dir()
WAIT_MS = 30_000  # the machine is shared: one run in four missed 15 s
PASSWORD = "desk-pw-1"
RECORDED_SECONDS = 8
CSP = "default-src 'self'"
STACK_UDP_PORTS = "44200-44299"  # this work's own range, clear of the other browser tests

pytestmark = [
    pytest.mark.browser,
    # The reviewer group survives the flushes between transactional tests: post_migrate makes it
    # again (proctoring/services/reviewer_group.py).
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture
def desk(new_client, other_client, tmp_path, settings):
    """A reviewer, a recorded attempt to judge, and enough other attempts for a real list."""
    settings.MEDIA_ROOT = tmp_path / "media"
    user = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    # A reviewer sees the clients assigned to them only (proctoring/admin/scoping.py).
    new_client.client.reviewers.add(user)
    other_client.client.reviewers.add(user)
    attempt = desk_attempt(new_client, "exam-7-ada", recording=True)
    desk_attempt(new_client, "exam-7-alan", name="Alan Turing", extra_violations=4)
    people = [
        ("Grace Hopper", 99.4, None),
        ("Edsger Dijkstra", 91.0, None),
        ("Barbara Liskov", 62.5, None),
        ("Donald Knuth", 97.8, ["missing_coverage"]),
    ]
    for i, (name, score, reasons) in enumerate(people):
        other = scored_attempt(
            new_client if i % 2 else other_client,
            f"exam-{i}",
            score=score,
            ago_days=i,
            lookup_key=f"cohort-{i}",
            review_reasons=reasons if reasons is not None else ([] if score > 90 else None),
        )
        other.user_details = {"name": name}
        ratio = 0.4 if reasons else 1.0
        other.coverage = {"camera": {"required": True, "analysed_s": 1800 * ratio, "ratio": ratio}}
        other.save()
    _older_verdicts(new_client, user)
    return user, attempt


def _older_verdicts(new_client: NewClient, user: User) -> None:
    """Verdicts in past weeks, so that the precision chart has a line to draw."""
    weeks = {
        1: ["confirmed", "dismissed"],
        2: ["confirmed", "confirmed", "dismissed"],
        3: ["confirmed"],
    }
    n = 0
    for ago, verdicts in weeks.items():
        for verdict in verdicts:
            n += 1
            attempt = scored_attempt(new_client, f"old-{n}", score=70.0, ago_days=7 * ago)
            attempt.coverage = {"camera": {"required": True, "analysed_s": 1800.0, "ratio": 1.0}}
            attempt.review_verdict = "confirmed" if verdict == "confirmed" else "cleared"
            attempt.save()
            violation = attempt.violations.first()
            review = ViolationReview.objects.create(
                attempt=attempt,
                violation=violation,
                type=violation.type,
                start_s=violation.start_s,
                end_s=violation.end_s,
                detector=settings.PROCTOR_DETECTOR,
                verdict=verdict,
                reviewer=user,
            )
            at = timezone.now() - dt.timedelta(weeks=ago)
            ViolationReview.objects.filter(pk=review.pk).update(at=at)


@pytest.fixture
def page(playwright_driver, live_server):
    """Chromium. While Playwright's loop runs, Django sees another async context and opens a
    connection of its own for the test's queries: close it before the loop ends, or the test
    database cannot be dropped."""
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
    )
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    yield context.new_page()
    browser.close()
    connection.close()


def _under_csp(page) -> list[str]:
    """Serve every admin page with the policy the admin will run under (django-csp,
    `default-src 'self'`) and collect what Chromium refuses because of it."""
    refused: list[str] = []

    def with_policy(route):
        response = route.fetch(max_redirects=0)  # the browser follows them itself
        headers = {**response.headers, "content-security-policy": CSP}
        route.fulfill(response=response, headers=headers)

    page.route("**/admin/**", with_policy)
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return refused


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/proctoring/attempt/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/proctoring/attempt/")


def _shot(page, name: str) -> Path:
    IMG.mkdir(parents=True, exist_ok=True)
    out = IMG / name
    page.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 20_000
    return out


def _wait_until(page, expression: str, timeout_ms: int = WAIT_MS) -> None:
    """Poll `expression` through page.evaluate (DevTools, outside the page's CSP);
    wait_for_function evaluates a string inside the page, which `default-src 'self'` refuses."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error:  # a navigation replaced the document between two polls
            pass
        assert time.monotonic() < deadline, f"still false after {timeout_ms} ms: {expression}"
        time.sleep(0.1)


def _current_time(page) -> float:
    return page.evaluate("document.querySelector('video.desk-video').currentTime")


def test_reviewer_lists_plays_seeks_confirms_and_sees_the_dashboard(live_server, page, desk):
    user, attempt = desk
    base = live_server.url
    refused = _under_csp(page)
    _log_in(page, base)

    # The list: worst first, with its marks, every column in view at 1440 px.
    results = "document.querySelector('.results')"
    assert page.evaluate(f"{results}.scrollWidth <= {results}.clientWidth + 1")
    # Fold Django's navigation away for the pictures (a reviewer's choice, kept across pages).
    page.click("#toggle-nav-sidebar")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() >= 6
    first_score = float(rows.nth(0).locator(".desk-score").inner_text())
    last_score = float(rows.nth(rows.count() - 1).locator(".desk-score").inner_text())
    assert first_score <= last_score
    knuth = page.locator("#result_list tbody tr", has_text="Donald Knuth")
    assert knuth.locator(".desk-score.band-amber").count() == 1  # 97.8 but the camera was off
    assert "missing coverage" in knuth.inner_text()
    assert page.locator("img.desk-thumb").count() >= 2
    _shot(page, "review-list.png")

    # The attempt page: the recording plays, and a click on a violation seeks to it.
    page.click("#result_list a:has-text('exam-7-ada')")
    page.wait_for_selector("#proctor-review")
    video = page.locator("video.desk-video")
    _wait_until(page, "document.querySelector('video.desk-video').readyState >= 1")
    no_face = attempt.violations.get(type="no_face")
    page.click(f"#violation-{no_face.pk} td:first-child")  # select and play from 9 s
    _wait_until(page, "document.querySelector('video.desk-video').currentTime > 9.3")
    at = _current_time(page)
    assert 9.0 <= at < 13.0, at
    ready = page.evaluate("document.querySelector('video.desk-video').readyState")
    assert ready >= 2
    _wait_until(
        page,  # it plays on by itself
        f"document.querySelector('video.desk-video').currentTime > {at + 0.5}",
    )
    humans = attempt.violations.get(type="multiple_humans")
    page.click(f"svg.proctor-timeline rect.violation[data-violation='{humans.pk}']")
    _wait_until(
        page,
        "(() => { const t = document.querySelector('video.desk-video').currentTime;"
        " return t >= 3 && t < 6; })()",
    )
    assert video.count() == 1
    # The timeline zooms in around the selected violation, and back out.
    page.keyboard.press("+")
    zoomed = page.get_attribute("svg.proctor-timeline", "data-view")
    assert zoomed and zoomed != "0-60.000"
    bar_width = float(page.get_attribute(f"rect.violation[data-violation='{humans.pk}']", "width"))
    assert bar_width > 60  # 4 s of 60 s is 54 px unzoomed
    page.keyboard.press("0")
    page.evaluate("document.querySelector('video.desk-video').pause()")
    _shot(page, "review-detail.png")

    # Confirm the selected violation (multiple humans) from the keyboard.
    page.keyboard.press("c")
    page.wait_for_selector(f"#violation-{humans.pk} .verdict")
    review = ViolationReview.objects.get(violation=humans)
    assert (review.verdict, review.reviewer_id) == ("confirmed", user.pk)
    entry = AttemptAuditEntry.objects.get(attempt=attempt, action="violation_review")
    assert (entry.actor_id, entry.after["verdict"]) == (user.pk, "confirmed")
    # j moves to the next violation, d dismisses it.
    page.keyboard.press("j")
    page.keyboard.press("d")
    page.wait_for_selector(f"#violation-{no_face.pk} .verdict")
    assert ViolationReview.objects.get(violation=no_face).verdict == "dismissed"
    # n goes to the next attempt needing review.
    page.keyboard.press("n")
    here = f"/attempt/{attempt.pk}/"
    _wait_until(page, f"!location.pathname.includes('{here}')")

    # The dashboard.
    page.goto(f"{base}/admin/proctoring/attempt/dashboard/?client={attempt.client_id}")
    for chart in ("per-day", "scores", "types", "precision"):
        assert page.locator(f"svg.desk-chart.{chart}").count() == 1
    assert page.locator("svg.desk-chart.precision circle.point").count() >= 3
    assert page.locator("svg.desk-chart.types rect.bar").count() >= 3
    _shot(page, "dashboard.png")
    assert refused == []  # no inline script or style anywhere on the desk


def test_a_recording_from_the_real_stack_plays_and_seeks_on_the_desk(
    page, new_client, redis_client, tmp_path
):
    """The real path: the agent streams with recordSession to the real web, media and worker
    processes; the ingest's aiortc MediaRecorder writes the WebM; the stack's own web serves the
    desk, and Chromium plays that recording and seeks to a violation in it."""
    redis_client.flushdb()
    env = stack_env(PROCTOR_ICE_PORT_RANGE=STACK_UDP_PORTS)
    with Stack(env=env, log_dir=tmp_path / "logs") as stack:
        options = json.loads(HEADLESS_OPTIONS)
        options["trackingOptions"].update(recordSession=True, photosAtRandom=False)
        options["userDetails"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
        args = agent_args(stack, new_client, "recorded-1", RECORDED_SECONDS)
        args[args.index("--options") + 1] = json.dumps(options)
        done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        attempt = Attempt.objects.get(test_attempt_id="recorded-1")
        session = attempt.sessions.get()
        assert session.recording.name.endswith(".webm")
        # The fake devices show six faces and speak: whichever the workers confirmed first.
        humans = attempt.violations.order_by("start_s").first()
        assert humans is not None, "no violation was found in the recorded stream"
        user = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name="reviewer"))
        new_client.client.reviewers.add(user)  # a reviewer sees their clients only

        _log_in(page, stack.url)
        page.goto(f"{stack.url}/admin/proctoring/attempt/{attempt.pk}/change/")
        _wait_until(page, "document.querySelector('video.desk-video').readyState >= 1")
        duration = page.evaluate("document.querySelector('video.desk-video').duration")
        target = max(humans.start_s - session.offset_s, 0.0)
        # The ingest's recording is shorter than what it received under load (6.0 s and 3.4 s
        # of 7 s delivered, in two runs): it must at least reach past the violation's start.
        assert duration > target + 1.0, (duration, target)
        page.click(f"#violation-{humans.pk} td:first-child")
        _wait_until(
            page,
            f"document.querySelector('video.desk-video').currentTime > {target + 0.3}",
        )
        assert page.evaluate("document.querySelector('video.desk-video').readyState") >= 2
        assert abs(_current_time(page) - target) < 3.0
