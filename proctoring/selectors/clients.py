"""Clients: the active client behind an id, the secrets that verify now, usage per month."""

import datetime as dt
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from proctoring import signing
from proctoring.models import Attempt, Client


def client_active(*, client_id: str) -> Client | None:
    return Client.objects.filter(client_id=client_id, is_active=True).first()


def client_allowed_origins_any() -> frozenset[str]:
    """Every origin some active client lets use the browser SDK (a CORS preflight names no
    client; the request that follows is checked against its own client's list)."""
    lists = Client.objects.filter(is_active=True).values_list("allowed_origins", flat=True)
    return frozenset(origin for origins in lists for origin in origins or [])


def client_secrets(*, client: Client) -> list[str]:
    """The secrets that verify now: the current one, and the previous one during its grace."""
    current = [signing.decrypt_secret(client.secret_encrypted)]
    expires = client.previous_secret_expires_at
    if client.previous_secret_encrypted and expires and expires > timezone.now():
        return current + [signing.decrypt_secret(client.previous_secret_encrypted)]
    return current


def webhook_secrets(*, client: Client) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during
    its grace. A client from before webhook secrets signs with its client secret (migration
    0007 gave every client one; this is the fallback, never the rule)."""
    if not client.webhook_secret_encrypted:
        return client_secrets(client=client)[:1]
    current = [signing.decrypt_secret(client.webhook_secret_encrypted)]
    expires = client.webhook_previous_secret_expires_at
    if client.webhook_previous_secret_encrypted and expires and expires > timezone.now():
        return current + [signing.decrypt_secret(client.webhook_previous_secret_encrypted)]
    return current


def client_usage_by_month(*, client: Client) -> list[dict[str, Any]]:
    """Attempts started and minutes proctored (start to finish) per calendar month (UTC)."""
    span = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        Attempt.objects.filter(client=client, started_at__isnull=False)
        .annotate(month=TruncMonth("started_at"))
        .values("month")
        .annotate(attempts=Count("id"), proctored=Sum(span, filter=Q(finished_at__isnull=False)))
        .order_by("month")
    )
    return [
        {
            "month": row["month"].strftime("%Y-%m"),
            "attempts": row["attempts"],
            "minutes": round((row["proctored"] or dt.timedelta()).total_seconds() / 60, 2),
        }
        for row in rows
    ]
