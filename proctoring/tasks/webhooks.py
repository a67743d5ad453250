"""Webhook delivery and retention: thin adapters over one service each."""

from celery import shared_task

from proctoring import messages
from proctoring.services import retention, webhooks


@shared_task(name=messages.DELIVER_WEBHOOK, bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: str) -> None:
    retry_in = webhooks.webhook_deliver(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name=messages.PURGE_EXPIRED, acks_late=True)
def purge_expired() -> dict:
    return retention.purge_expired().as_dict()
