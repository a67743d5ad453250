"""Webhook deliveries of one client."""

import uuid

from django.db.models import QuerySet

from proctoring.exceptions import NotFound
from proctoring.models import Client, WebhookDelivery

DELIVERY_NOT_FOUND_MESSAGE = "No webhook delivery with this id for this client."


def webhook_deliveries(*, client: Client) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(client=client).select_related("attempt")


def webhook_delivery_get_for_client(*, client: Client, delivery_id: str) -> WebhookDelivery:
    try:
        key = uuid.UUID(str(delivery_id))
    except ValueError:
        key = None
    delivery = webhook_deliveries(client=client).filter(pk=key).first() if key else None
    if delivery is None:
        raise NotFound(DELIVERY_NOT_FOUND_MESSAGE, code="delivery_not_found")
    return delivery
