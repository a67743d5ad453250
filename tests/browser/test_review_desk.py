"""The review desk in real headless Chromium (Debian's `chromium`, driven by Playwright): a
reviewer logs in through the admin's form, opens the list and an attempt, plays the session
recording (a real VP8/Opus WebM served with byte ranges), seeks by clicking a violation, confirms
one with the keyboard, and opens the dashboard. Screenshots go to docs/img/ for docs/review.md
(`make screenshots`).

No network namespace: the admin is plain HTTP on 127.0.0.1 (only WebRTC needs the lab)."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from proctoring.models import AttemptAuditEntry, ViolationReview
from proctoring.services.clients import NewClient
from tests.browser.lab import screenshot_dir
from tests.proctoring.desk_data import desk_attempt
from tests.proctoring.factories import scored_attempt

CHROMIUM = "/usr/bin/chromium"
IMG = screenshot_dir()
WAIT_MS = 15_000
PASSWORD = "desk-pw-1"

pytestmark = [
    pytest.mark.browser,
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


def _current_time(page) -> float:
    return page.evaluate("document.querySelector('video.desk-video').currentTime")


def test_reviewer_lists_plays_seeks_confirms_and_sees_the_dashboard(live_server, page, desk):
    user, attempt = desk
    base = live_server.url
    _log_in(page, base)

    # The list: worst first, with its marks, every column in view at 1440 px.
    results = "document.querySelector('.results')"
    assert page.evaluate(f"{results}.scrollWidth <= {results}.clientWidth + 1")
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
    page.wait_for_function(
        "document.querySelector('video.desk-video').readyState >= 1", timeout=WAIT_MS
    )
    no_face = attempt.violations.get(type="no_face")
    page.click(f"#violation-{no_face.pk} td:first-child")  # select and play from 9 s
    page.wait_for_function(
        "document.querySelector('video.desk-video').currentTime > 9.3", timeout=WAIT_MS
    )
    at = _current_time(page)
    assert 9.0 <= at < 13.0, at
    ready = page.evaluate("document.querySelector('video.desk-video').readyState")
    assert ready >= 2
    page.wait_for_function(  # it plays on by itself
        f"document.querySelector('video.desk-video').currentTime > {at + 0.5}", timeout=WAIT_MS
    )
    humans = attempt.violations.get(type="multiple_humans")
    page.click(f"svg.proctor-timeline rect.violation[data-violation='{humans.pk}']")
    page.wait_for_function(
        "(() => { const t = document.querySelector('video.desk-video').currentTime;"
        " return t >= 3 && t < 6; })()",
        timeout=WAIT_MS,
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
    page.wait_for_function(f"!location.pathname.includes('{here}')", timeout=WAIT_MS)

    # The dashboard.
    page.goto(f"{base}/admin/proctoring/attempt/dashboard/?client={attempt.client_id}")
    for chart in ("per-day", "scores", "types", "precision"):
        assert page.locator(f"svg.desk-chart.{chart}").count() == 1
    assert page.locator("svg.desk-chart.precision circle.point").count() >= 3
    assert page.locator("svg.desk-chart.types rect.bar").count() >= 3
    _shot(page, "dashboard.png")
