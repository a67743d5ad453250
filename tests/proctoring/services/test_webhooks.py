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
from django.core.exceptions import ValidationError
from django.urls import reverse

from proctoring import webhook_targets
from proctoring.models import DeliveryStatus, WebhookDelivery
from proctoring.services import reviews, webhooks
from proctoring.services.attempts import attempt_stop
from proctoring.services.media_sessions import media_session_close
from proctoring.services.scoring import attempt_finalize
from proctoring.services.secrets import webhook_secret_rotate
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
    assert verify(new_client.webhook_secret, signature, body)
    assert not verify(new_client.webhook_secret, signature, body + b" ")
    assert not verify("another-secret", signature, body)
    # The webhook secret is not the API secret: a receiver never needs the latter.
    assert not verify(new_client.client_secret, signature, body)
    old = re.sub(r"t=(\d+)", lambda m: f"t={int(m.group(1)) - 301}", signature)
    assert not verify(new_client.webhook_secret, old, body)


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
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == webhooks.UNREACHABLE


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


def _deliver_to(new_client, url: str) -> WebhookDelivery:
    """Saves the URL without the model's validator (as an older row would be) and delivers."""
    type(new_client.client).objects.filter(pk=new_client.client.pk).update(webhook_url=url)
    new_client.client.refresh_from_db()
    delivery = WebhookDelivery.objects.create(
        client=new_client.client,
        attempt=scored_attempt(new_client, f"s-{WebhookDelivery.objects.count()}"),
        event="attempt.scored",
        url=url,
        payload={"event": "attempt.scored"},
    )
    webhooks.webhook_deliver(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://10.0.0.7/hook",
        "https://user:pw@hooks.example.com/x",
    ],
)
def test_outside_development_a_webhook_url_must_be_https_to_a_public_address(
    new_client, settings, url
):
    settings.PROCTOR_WEBHOOK_ALLOW_HTTP = False
    settings.PROCTOR_WEBHOOK_ALLOW_PRIVATE = False
    new_client.client.webhook_url = url
    with pytest.raises(ValidationError):
        new_client.client.full_clean()
    assert _deliver_to(new_client, url).last_error == webhooks.UNREACHABLE


def test_plain_http_is_refused_outside_development(new_client, settings):
    settings.PROCTOR_WEBHOOK_ALLOW_HTTP = False
    new_client.client.webhook_url = "http://hooks.example.com/x"
    with pytest.raises(ValidationError, match="https"):
        new_client.client.full_clean()
    new_client.client.webhook_url = "https://hooks.example.com/x"
    new_client.client.full_clean()


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(
    new_client, settings, receiver, monkeypatch
):
    """DNS rebinding: the name is checked on what it resolves to at the moment of delivery, and
    nothing is sent when any answer is not public."""
    settings.PROCTOR_WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.server.server_port
    answers = {"hooks.example.com": ["93.184.216.34", "127.0.0.1"]}

    def getaddrinfo(host, port_, *args, **kwargs):
        return [(2, 1, 6, "", (address, port_)) for address in answers.get(host, [host])]

    monkeypatch.setattr(webhook_targets.socket, "getaddrinfo", getaddrinfo)
    delivery = _deliver_to(new_client, f"http://hooks.example.com:{port}/hook")
    assert (delivery.status, delivery.last_error) == ("pending", webhooks.UNREACHABLE)
    assert receiver.requests == []


def test_delivery_goes_to_the_checked_address_with_the_name_as_host(
    new_client, receiver, monkeypatch
):
    port = receiver.server.server_port
    resolved = []

    def getaddrinfo(host, port_, *args, **kwargs):
        resolved.append(host)  # httpcore resolves the pinned literal again: harmless
        return [(2, 1, 6, "", ("127.0.0.1", port_))]

    monkeypatch.setattr(webhook_targets.socket, "getaddrinfo", getaddrinfo)
    delivery = _deliver_to(new_client, f"http://hooks.example.com:{port}/hook")
    assert delivery.status == "delivered"
    assert resolved[0] == "hooks.example.com" and set(resolved[1:]) <= {"127.0.0.1"}
    ((headers, _),) = receiver.requests
    assert headers["Host"] == f"hooks.example.com:{port}"


def test_every_unreachable_receiver_reads_the_same(new_client, settings):
    """Closed port, unresolvable name and refused address: one text, so the log maps nothing."""
    settings.PROCTOR_WEBHOOK_ALLOW_PRIVATE = False
    errors = {
        _deliver_to(new_client, url).last_error
        for url in (
            "http://127.0.0.1:9/hook",
            "https://no-such-host.invalid/hook",
            "https://169.254.169.254/",
        )
    }
    assert errors == {webhooks.UNREACHABLE}


def test_a_rotated_webhook_secret_signs_twice_during_the_grace(new_client, receiver):
    new_client.client.webhook_url = receiver.url
    new_client.client.save()
    fresh = webhook_secret_rotate(client=new_client.client, grace_s=60)
    _deliver_to(new_client, receiver.url)
    verify = reference_verifier()
    headers, body = receiver.requests[-1]
    assert headers["X-Proctor-Signature"].count("v1=") == 2
    assert verify(fresh, headers["X-Proctor-Signature"], body)
    assert verify(new_client.webhook_secret, headers["X-Proctor-Signature"], body)

    webhook_secret_rotate(client=new_client.client, grace_s=0)
    _deliver_to(new_client, receiver.url)
    headers, body = receiver.requests[-1]
    assert headers["X-Proctor-Signature"].count("v1=") == 1
    assert not verify(fresh, headers["X-Proctor-Signature"], body)
