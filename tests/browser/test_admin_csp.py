"""The admin under its Content-Security-Policy in real Chromium: log in through the form, open
the review pages, add a client and read its secrets; the browser reports no CSP violation and
no script error, and the proctoring stylesheet (once inline, now a file) applies."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from proctoring.models import WebhookDelivery
from tests.proctoring.factories import scored_attempt

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def browser_page(playwright_driver):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (requirements/apt.txt)")
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
    )
    page = browser.new_page()
    problems: list[str] = []

    def on_console(message) -> None:
        # A failed load is reported by its response below, with its URL.
        if "Failed to load resource" in message.text:
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    def on_response(response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page, problems
    browser.close()


def test_the_admin_works_under_its_csp(browser_page, live_server, new_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    page, problems = browser_page
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    attempt = scored_attempt(new_client)
    delivery = WebhookDelivery.objects.create(
        client=new_client.client, attempt=attempt, event="attempt.scored", url="https://e.x/"
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/proctoring/attempt/{attempt.pk}/change/")
    sheets = page.evaluate("[...document.styleSheets].map(s => s.href || 'inline')")
    assert any("/static/proctoring/" in sheet for sheet in sheets) and "inline" not in sheets
    assert page.locator(".proctor-timeline").count() == 1
    # The evidence photo inside the face-box SVG loads (img-src 'self').
    page.wait_for_load_state("networkidle")

    page.goto(f"{live_server.url}/admin/proctoring/webhookdelivery/{delivery.pk}/change/")
    form = page.locator("form.proctor-inline-form")
    assert form.evaluate("e => getComputedStyle(e).display") == "inline"

    page.goto(f"{live_server.url}/admin/proctoring/client/add/")
    page.fill("#id_name", "Browser platform")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/proctoring/client/new-secrets/")
    assert page.locator("code.secret").count() == 2

    for path in ("attempt/", "violationreview/", "attemptauditentry/", "client/"):
        page.goto(f"{live_server.url}/admin/proctoring/{path}")
        page.wait_for_load_state("networkidle")
    assert problems == []


def test_the_api_docs_render_under_their_csp(browser_page, live_server):
    """Swagger UI's script is a file of its own (the split view); both UIs style themselves
    inline, which their pages alone allow."""
    page, problems = browser_page
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container", timeout=20000)
    assert "Open Proctor API" in page.inner_text(".swagger-ui .information-container")
    assert problems == []
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("redoc h1", timeout=20000)
    assert "Open Proctor API" in page.inner_text("redoc h1")
    # Redoc's "by Redocly" logo comes from its CDN: the policy keeps it out, and only it.
    remote_logo = [p for p in problems if "https://cdn.redoc.ly/" in p]
    assert len(remote_logo) <= 1 and [p for p in problems if p not in remote_logo] == []
