"""Signed webhooks: record a delivery, POST it with an HMAC signature, retry with backoff."""

import json
import logging
import time
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from proctoring import messages, signing, task_queue, webhook_targets
from proctoring.models import Attempt, DeliveryStatus, WebhookDelivery
from proctoring.selectors.attempts import attempt_needs_review
from proctoring.selectors.clients import webhook_secrets

logger = logging.getLogger(__name__)
USER_AGENT = "open-proctor-webhooks/1"
# One text for every way a receiver cannot be reached (refused address, DNS, TCP, TLS, timeout).
UNREACHABLE = "the receiver could not be reached"


def webhook_payload(*, attempt: Attempt, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "created_at": timezone.now().isoformat(),
        "attempt": {
            "test_attempt_id": attempt.test_attempt_id,
            "lookup_key": attempt.lookup_key,
            "status": attempt.status,
            "trust_score": attempt.trust_score,
            "score_version": attempt.score_version,
            "evidence_status": attempt.evidence_status,
            "coverage": attempt.coverage,
            "needs_review": attempt_needs_review(attempt),
            "review_reasons": attempt.review_reasons,
            "review_verdict": attempt.review_verdict,
            "reviewed_at": attempt.reviewed_at.isoformat() if attempt.reviewed_at else None,
        },
    }


def webhook_enqueue(*, attempt: Attempt, event: str) -> WebhookDelivery | None:
    """Log the event for the client's URL and send it once the transaction commits."""
    url = attempt.client.webhook_url
    if not url:
        return None
    delivery = WebhookDelivery.objects.create(
        client=attempt.client,
        attempt=attempt,
        event=event,
        url=url,
        payload=webhook_payload(attempt=attempt, event=event),
    )
    delivery.payload["id"] = str(delivery.pk)
    delivery.save(update_fields=["payload"])
    _send_on_commit(delivery)
    return delivery


def _send_on_commit(delivery: WebhookDelivery) -> None:
    task_queue.enqueue_on_commit(messages.DELIVER_WEBHOOK, str(delivery.pk))


def webhook_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def retry_delay_s(tries: int) -> float:
    """Exponential backoff: base, 2 x base, 4 x base, ..."""
    return settings.PROCTOR_WEBHOOK_BACKOFF_S * (2 ** max(0, tries - 1))


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST to the address the URL resolves to now, if public. Every failure to reach it reads
    the same in the log: the log is shown to the client, and must not map its network."""
    body = webhook_body(delivery)
    signature = signing.webhook_signature(
        secrets_=webhook_secrets(client=delivery.client), timestamp=int(time.time()), body=body
    )
    try:
        target = webhook_targets.resolve(delivery.url)
        request = httpx.Request(
            "POST",
            target.url,
            content=body,
            headers={
                "Host": target.host,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                signing.WEBHOOK_SIGNATURE_HEADER: signature,
                "X-Proctor-Event": delivery.event,
                "X-Proctor-Delivery": str(delivery.pk),
            },
            # TLS checks the certificate against the name, while TCP goes to the checked address.
            extensions={"sni_hostname": target.sni},
        )
        with httpx.Client(timeout=settings.PROCTOR_WEBHOOK_TIMEOUT_S) as client:
            response = client.send(request, follow_redirects=False)
    except (httpx.HTTPError, webhook_targets.UnsafeTarget) as exc:
        logger.info("webhook %s not delivered: %s", delivery.pk, type(exc).__name__)
        return None, UNREACHABLE
    error = "" if response.is_success else f"HTTP {response.status_code}"
    return response.status_code, error


def webhook_deliver(*, delivery_id: str) -> float | None:
    """Try one delivery; returns the seconds to wait before the next try, or None when done."""
    delivery = WebhookDelivery.objects.select_related("client").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    status_code, error = _post(delivery)
    delivery.tries += 1
    delivery.last_tried_at = timezone.now()
    delivery.last_status_code = status_code
    delivery.last_error = error
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = delivery.last_tried_at
    elif delivery.tries > settings.PROCTOR_WEBHOOK_MAX_RETRIES:
        delivery.status = DeliveryStatus.FAILED
    delivery.save()
    logger.info(
        "webhook %s %s try %d: %s", delivery.pk, delivery.event, delivery.tries, error or "ok"
    )
    return retry_delay_s(delivery.tries) if delivery.status == DeliveryStatus.PENDING else None


@transaction.atomic
def webhook_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same event again (same id and payload, fresh signature and tries)."""
    delivery.status = DeliveryStatus.PENDING
    delivery.tries = 0
    delivery.last_error = ""
    delivery.save(update_fields=["status", "tries", "last_error"])
    _send_on_commit(delivery)
    return delivery
