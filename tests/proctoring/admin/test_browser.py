"""A real browser renders the attempt review page: headless Chromium (driven by Playwright,
no `playwright install`) takes a screenshot to var/screenshots/attempt-review.png."""

from pathlib import Path

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore

from tests.proctoring.factories import scored_attempt

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (requirements/apt.txt)"
    ),
]


def staff_session(user: User) -> str:
    """A logged-in session written to the DB; the browser gets its cookie."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def screenshot_with_playwright(url: str, cookie: dict, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 1600})
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(url)
        assert page.locator("svg.proctor-timeline rect.violation").count() == 2
        assert page.locator("svg.proctor-evidence rect.face-box").count() == 2
        box = page.locator("svg.proctor-timeline").bounding_box()
        assert box and box["width"] > 500
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def test_attempt_page_screenshot(live_server, new_client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    attempt = scored_attempt(new_client)
    user = User.objects.create_superuser("shot", password="pw")
    url = f"{live_server.url}/admin/proctoring/attempt/{attempt.pk}/change/"
    cookie = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": staff_session(user),
        "url": live_server.url,
    }
    out = Path(settings.BASE_DIR) / "var" / "screenshots" / "attempt-review.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    screenshot_with_playwright(url, cookie, out)
    assert out.stat().st_size > 10_000
