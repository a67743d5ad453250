"""Client secret rotation: a new secret, the old one valid for a grace period."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from proctoring import signing
from proctoring.models import Client

logger = logging.getLogger(__name__)


@transaction.atomic
def client_secret_rotate(*, client: Client, grace_s: int | None = None) -> str:
    """Returns the new secret (shown once). The previous one verifies until the grace ends."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    grace = settings.PROCTOR_SECRET_GRACE_S if grace_s is None else grace_s
    secret = signing.new_client_secret()
    client.previous_secret_encrypted = client.secret_encrypted
    client.previous_secret_expires_at = timezone.now() + dt.timedelta(seconds=grace)
    client.secret_encrypted = signing.encrypt_secret(secret)
    client.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
        ]
    )
    # Never the secret itself in a log line.
    logger.info("client %s: secret rotated, previous valid for %d s", client.client_id, grace)
    return secret


@transaction.atomic
def webhook_secret_rotate(*, client: Client, grace_s: int | None = None) -> str:
    """Returns the new webhook secret (shown once). Deliveries carry a signature under each
    secret until the grace ends, so the receiver can switch without missing one."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    grace = settings.PROCTOR_SECRET_GRACE_S if grace_s is None else grace_s
    secret = signing.new_client_secret()
    client.webhook_previous_secret_encrypted = client.webhook_secret_encrypted
    client.webhook_previous_secret_expires_at = timezone.now() + dt.timedelta(seconds=grace)
    client.webhook_secret_encrypted = signing.encrypt_secret(secret)
    client.save(
        update_fields=[
            "webhook_previous_secret_encrypted",
            "webhook_previous_secret_expires_at",
            "webhook_secret_encrypted",
        ]
    )
    logger.info(
        "client %s: webhook secret rotated, previous valid for %d s", client.client_id, grace
    )
    return secret
