"""Signed webhooks: attempt.scored on finalize, attempt.reviewed on a verdict, retries with
backoff, the admin resend button, and the reference verifier printed in docs/api.md."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import User
from django.urls import reverse

from proctoring.models import DeliveryStatus, WebhookDelivery
from proctoring.services import reviews, webhooks
from proctoring.services.attempts import attempt_stop
from proctoring.services.media_sessions import media_session_close
from proctoring.services.scoring import attempt_finalize
from proctoring.tasks.webhooks import deliver_webhook
from tests.proctoring.factories import open_session, record_frame, scored_attempt, started_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "api.md"
README = ROOT / "README.md"
VERIFIER = re.compile(r"<!-- verifier:start -->\s*```python\n(.*?)```", re.S)


class Receiver:
    """A loopback HTTP server that records what it is sent and answers a chosen status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def reference_verifier():
    """Executes the verifier exactly as the README prints it."""
    block = VERIFIER.search(README.read_text()).group(1)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own docs)
    return namespace["verify_proctor_signature"]


def test_the_readme_and_the_api_docs_show_the_same_verifier():
    readme = VERIFIER.search(README.read_text()).group(1)
    assert readme == VERIFIER.search(DOCS.read_text()).group(1)


def test_finalize_sends_a_signed_attempt_scored(
    new_client, receiver, django_capture_on_commit_callbacks
):
    new_client.client.webhook_url = receiver.url
    new_client.client.save()
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    record_frame(session, 0, 2)
    attempt_stop(attempt=attempt)
    media_session_close(session_id=session.id, samples_enqueued=1, reason="tracks_ended")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert attempt_finalize(attempt_id=attempt.pk) is True
    delivery = WebhookDelivery.objects.get(event="attempt.scored")
    assert len(queued) == 1

    assert webhooks.webhook_deliver(delivery_id=str(delivery.pk)) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, delivery.last_status_code) == ("delivered", 1, 200)
    ((headers, body),) = receiver.requests
    payload = json.loads(body)
    assert payload["event"] == "attempt.scored" and payload["id"] == str(delivery.pk)
    assert payload["attempt"]["test_attempt_id"] == "f-1"
    assert (
        payload["attempt"]["trust_score"]
        == attempt.__class__.objects.get(pk=attempt.pk).trust_score
    )
    assert headers["X-Proctor-Delivery"] == str(delivery.pk)

    verify = reference_verifier()
    signature = headers["X-Proctor-Signature"]
    assert verify(new_client.client_secret, signature, body)
    assert not verify(new_client.client_secret, signature, body + b" ")
    assert not verify("another-secret", signature, body)
    old = re.sub(r"t=(\d+)", lambda m: f"t={int(m.group(1)) - 301}", signature)
    assert not verify(new_client.client_secret, old, body)


def test_no_url_no_delivery(new_client):
    attempt = scored_attempt(new_client)
    assert webhooks.webhook_enqueue(attempt=attempt, event="attempt.scored") is None


def test_failures_retry_with_exponential_backoff_then_fail(
    new_client, settings, django_capture_on_commit_callbacks
):
    failing = Receiver(status=500)
    try:
        new_client.client.webhook_url = failing.url
        new_client.client.save()
        settings.PROCTOR_WEBHOOK_MAX_RETRIES = 2
        attempt = scored_attempt(new_client)
        with django_capture_on_commit_callbacks(execute=False):
            delivery = webhooks.webhook_enqueue(attempt=attempt, event="attempt.scored")
        delays = []
        for _ in range(2):
            with pytest.raises(Retry):
                deliver_webhook.run(str(delivery.pk))
            delays.append(webhooks.retry_delay_s(WebhookDelivery.objects.get(pk=delivery.pk).tries))
        assert delays == [
            settings.PROCTOR_WEBHOOK_BACKOFF_S,
            2 * settings.PROCTOR_WEBHOOK_BACKOFF_S,
        ]
        deliver_webhook.run(str(delivery.pk))  # the last try: no retry left
        delivery.refresh_from_db()
        assert (delivery.status, delivery.tries, delivery.last_error) == ("failed", 3, "HTTP 500")
        assert len(failing.requests) == 3
    finally:
        failing.close()


def test_unreachable_receiver_is_recorded(new_client, django_capture_on_commit_callbacks):
    new_client.client.webhook_url = "http://127.0.0.1:9/hook"
    new_client.client.save()
    with django_capture_on_commit_callbacks(execute=False):
        delivery = webhooks.webhook_enqueue(
            attempt=scored_attempt(new_client), event="attempt.scored"
        )
    assert webhooks.webhook_deliver(delivery_id=str(delivery.pk)) == 10.0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_error.startswith(
        "ConnectError"
    )


def test_a_verdict_sends_attempt_reviewed_and_admin_can_resend(
    new_client, receiver, admin_client, django_capture_on_commit_callbacks, tasks_inline
):
    new_client.client.webhook_url = receiver.url
    new_client.client.save()
    attempt = scored_attempt(new_client)
    reviewer = User.objects.create_user("rev", is_staff=True)
    with django_capture_on_commit_callbacks(execute=False):
        reviews.attempt_review_transition(attempt=attempt, to_verdict="cleared", reviewer=reviewer)
    delivery = WebhookDelivery.objects.get(event="attempt.reviewed")
    assert delivery.payload["attempt"]["review_verdict"] == "cleared"
    webhooks.webhook_deliver(delivery_id=str(delivery.pk))

    page = admin_client.get(reverse("admin:proctoring_webhookdelivery_change", args=[delivery.pk]))
    assert b'id="resend-delivery"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:proctoring_webhookdelivery_resend", args=[delivery.pk])
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries) == ("delivered", 1)
    assert tasks_inline == ["proctoring.tasks_webhooks.deliver_webhook"]
    assert [h["X-Proctor-Delivery"] for h, _ in receiver.requests] == [str(delivery.pk)] * 2
