"""The admin login lockout through the real web process (uvicorn, ASGI) on PostgreSQL: five
wrong passwords from one loopback address lock that username there, the right password from
another loopback address still logs in, and every answer carries the CSP."""

import re
import subprocess
import sys
import time

import httpx
import pytest
from django.contrib.auth.models import User

from scripts.stack import ROOT, free_port
from tests.e2e.conftest import stack_env

PASSWORD = "correct horse battery staple 7"
READY_TIMEOUT_S = 60


@pytest.fixture
def web(transactional_db, tmp_path):
    """Only the web process: the lockout needs no media process and no worker."""
    port = free_port()
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--port", str(port)],
        cwd=ROOT,
        env=stack_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "the web did not start"
        try:
            httpx.get(f"{url}/admin/login/", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=20)
    log.close()
    sys.stdout.write((tmp_path / "web.log").read_text()[-2000:])


def log_in(url: str, password: str, address: str) -> httpx.Response:
    """The admin's login form as a browser sends it, from a given loopback address."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=url, transport=transport, timeout=30) as browser:
        form = browser.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return browser.post(
            "/admin/login/?next=/admin/",
            data={
                "username": "rita",
                "password": password,
                "csrfmiddlewaretoken": token,
                "next": "/admin/",
            },
            headers={"Referer": f"{url}/admin/login/"},
        )


def test_the_lockout_holds_for_one_address_only_in_the_real_web_process(web):
    User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    answers = [log_in(web, "wrong", "127.0.0.1").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    locked = log_in(web, PASSWORD, "127.0.0.1")
    assert locked.status_code == 429 and "Login locked" in locked.text
    elsewhere = log_in(web, PASSWORD, "127.0.0.2")
    assert elsewhere.status_code == 302 and elsewhere.headers["location"] == "/admin/"
    for response in (locked, elsewhere):
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
