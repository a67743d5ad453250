"""Live credentials in URLs (evidence download tokens, the results page's hash) never reach the
access log: shown with a real uvicorn process and its default access log."""

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from proctoring.log_redaction import REDACTED, RedactCredentials, redact

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJjIjoiY2xfYWJjIiwiZSI6NDJ9:1sXyZ:secret-signature-part"
HASH = "q9F3cPz0vJmM4kqK7xkF0b2rXo5YpS7d0Jt1uQ2w3eE="


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        (f'"GET /api/v1/evidence/download/{TOKEN}/ HTTP/1.1" 200', "/evidence/download/", TOKEN),
        (f'"GET /api/v1/recordings/download/{TOKEN}/ HTTP/1.1" 206', "/recordings/", TOKEN),
        (f'"GET /reports/attempt/{TOKEN}/ HTTP/1.1" 200', "/reports/attempt/", TOKEN),
        (
            f"GET /reports/results/?clientId=cl_1&unixTimestamp=1&hashedUnixTimestamp={HASH}",
            "/reports/results/?clientId=cl_1",
            HASH,
        ),
        (
            f"GET /api/v1/results/?clientId=cl_1&unixTimestamp=1&hashedUnixTimestamp={HASH}",
            "clientId=cl_1&unixTimestamp=1",
            HASH,
        ),
        ("/x?session_token=abc123&y=1", "y=1", "abc123"),
    ],
)
def test_redact_keeps_the_shape_and_drops_the_credential(line, kept, gone):
    cleaned = redact(line)
    assert kept in cleaned and REDACTED in cleaned and gone not in cleaned


def test_the_filter_rewrites_formatted_records():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", f"/api/v1/results/?hashedUnixTimestamp={HASH}"),
        None,
    )
    assert RedactCredentials().filter(record) is True
    assert HASH not in record.getMessage() and "1.2.3.4" in record.getMessage()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_uvicorns_access_log_never_shows_a_live_credential(tmp_path):
    port = _free_port()
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--port", str(port)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{base}/api/v1/health/", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            httpx.get(f"{base}/api/v1/evidence/download/{TOKEN}/", timeout=10)
            httpx.get(
                f"{base}/api/v1/results/",
                params={"clientId": "cl_x", "unixTimestamp": "1", "hashedUnixTimestamp": HASH},
                timeout=10,
            )
        finally:
            web.terminate()
            web.wait(10)
    text = log_path.read_text()
    assert "/api/v1/evidence/download/" in text and "/api/v1/results/" in text  # logged...
    assert TOKEN.split(":")[0] not in text and "hashedUnixTimestamp=" + HASH[:10] not in text
    assert text.count(REDACTED) >= 2  # ...with the credentials replaced
