"""Who a request speaks for once authenticated, besides an integrator's Client."""

from dataclasses import dataclass

from proctoring.models import Client


@dataclass(frozen=True)
class AttemptCredential:
    """A capture client proved it may act for this attempt id of this client."""

    client: Client
    test_attempt_id: str
    is_authenticated: bool = True
