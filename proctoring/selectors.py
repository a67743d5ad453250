"""Reads, each scoped to the calling client."""

from django.db.models import Count, QuerySet
from django.utils import timezone

import trust_score
from proctoring import signing
from proctoring.analysis.thresholds import Thresholds
from proctoring.exceptions import AttemptNotFound, AuthenticationFailed, InvalidHash
from proctoring.models import Attempt, Client, MediaSession, Violation

ATTEMPT_NOT_FOUND_MESSAGE = "No attempt with this test_attempt_id for this client."
UNKNOWN_CLIENT_MESSAGE = "Unknown or inactive client."


def client_get_by_credentials(*, client_id: str, client_secret: str) -> Client | None:
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    if client is None:
        return None
    matches = [
        signing.constant_time_equals(s, client_secret) for s in client_secrets(client=client)
    ]
    return client if any(matches) else None


def client_get_for_agent(
    *, client_id: str, test_attempt_id: str, hashed_test_attempt_id: str
) -> Client:
    """The agent's credential: the HMAC of the attempt id under the client's secret."""
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    if client is None:
        raise AuthenticationFailed(UNKNOWN_CLIENT_MESSAGE)
    if not signing.verify_hmac_any(
        secrets_=client_secrets(client=client),
        message=test_attempt_id,
        candidate=hashed_test_attempt_id,
    ):
        raise InvalidHash("hashed_test_attempt_id does not match test_attempt_id for this client.")
    return client


def attempt_get_for_client(*, client: Client, test_attempt_id: str) -> Attempt:
    attempt = Attempt.objects.filter(client=client, test_attempt_id=test_attempt_id).first()
    if attempt is None:
        raise AttemptNotFound(ATTEMPT_NOT_FOUND_MESSAGE)
    return attempt


def attempt_violations(*, attempt: Attempt) -> QuerySet[Violation]:
    return Violation.objects.filter(attempt=attempt).order_by("start_s", "id")


def attempt_violation_counts(*, attempt: Attempt) -> dict[str, int]:
    rows = Violation.objects.filter(attempt=attempt).values("type").annotate(n=Count("id"))
    return {row["type"]: row["n"] for row in rows}


def attempt_analysis_pending(*, attempt: Attempt) -> int:
    """Samples handed to workers but not yet observed; -1 while a session is still open."""
    sessions = list(
        MediaSession.objects.filter(attempt=attempt).annotate(observed=Count("observations"))
    )
    if any(s.ended_at is None or s.samples_enqueued is None for s in sessions):
        return -1
    return sum(max(0, s.samples_enqueued - s.observed) for s in sessions)


def attempt_thresholds(*, attempt: Attempt) -> Thresholds:
    """Defaults, then the client's overrides, then the attempt's."""
    client_level = Thresholds.from_dict(attempt.client.thresholds)
    return Thresholds.from_dict(attempt.thresholds, base=client_level)


def attempt_score_profile(*, attempt: Attempt) -> trust_score.Profile:
    client_level = trust_score.Profile.from_dict(attempt.client.score_profile or {})
    return trust_score.Profile.from_dict(attempt.score_profile or {}, base=client_level)


def client_secrets(*, client: Client) -> list[str]:
    """The secrets that verify now: the current one, and the previous one during its grace."""
    current = [signing.decrypt_secret(client.secret_encrypted)]
    expires = client.previous_secret_expires_at
    if client.previous_secret_encrypted and expires and expires > timezone.now():
        return current + [signing.decrypt_secret(client.previous_secret_encrypted)]
    return current
