"""Who is calling: DRF authentication classes, one per kind of credential.

- Integrators: HTTP Basic with client_id:client_secret.
- Capture clients (agent, browser SDK): the attempt's HMAC under the client secret, in the body.
- The results page (SDK showResults): the HMAC of a fresh unix timestamp, in the query string.

Failed HMAC checks count against a limit per client and address (proctoring.api.guards).
"""

import base64
import binascii
import time

from django.conf import settings
from rest_framework import authentication, exceptions, permissions

from proctoring import signing
from proctoring.api import serializers as s
from proctoring.api.cors import check_origin
from proctoring.api.guards import hmac_failure_limit
from proctoring.api.principals import AttemptCredential
from proctoring.exceptions import (
    AuthenticationFailed,
    InvalidHash,
    ProctoringError,
    TimestampExpired,
)
from proctoring.models import Client
from proctoring.selectors.clients import client_active, client_secrets

UNKNOWN_CLIENT_MESSAGE = "Unknown or inactive client."
BAD_ATTEMPT_HASH_MESSAGE = "hashed_test_attempt_id does not match test_attempt_id for this client."
STALE_TIMESTAMP_MESSAGE = "unixTimestamp is too old or too far in the future."
BAD_TIMESTAMP_HASH_MESSAGE = "hashedUnixTimestamp does not match unixTimestamp for this client."


class CredentialRefused(exceptions.APIException):
    """A domain refusal of a credential (unknown client, bad hash, stale timestamp), raised from
    an authentication class: DRF handles APIExceptions raised there, and this one keeps the
    refusal's own status and code."""

    def __init__(self, error: ProctoringError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.status_code = error.status_code
        self.error = error


def _client_or_refusal(client_id: str) -> Client:
    client = client_active(client_id=client_id)
    if client is None:
        raise AuthenticationFailed(UNKNOWN_CLIENT_MESSAGE)
    return client


def _check_hmac(client: Client, *, message: str, candidate: str, refusal: str) -> None:
    if not signing.verify_hmac_any(
        secrets_=client_secrets(client=client), message=message, candidate=candidate
    ):
        raise InvalidHash(refusal)


def _validated(serializer_class, payload) -> dict:
    serializer = serializer_class(data=payload)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ClientBasicAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "proctoring"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Basic authorization header.")
        try:
            client_id, _, secret = base64.b64decode(header[1]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed("Malformed Basic authorization header.") from exc
        client = client_active(client_id=client_id)
        secrets_ = client_secrets(client=client) if client else []
        if not any(signing.constant_time_equals(known, secret) for known in secrets_):
            raise exceptions.AuthenticationFailed("Invalid client credentials.")
        return (client, client)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with a challenge) rather than 403 to anonymous requests.
        return f'Basic realm="{self.www_authenticate_realm}"'


class AttemptHmacAuthentication(authentication.BaseAuthentication):
    """client_id, test_attempt_id and hashed_test_attempt_id in the JSON body. Checked before
    anything else in the body is read, so a caller without a valid hash gets no work done.
    A browser page on another origin must be on one the client lists (proctoring.api.cors)."""

    def authenticate(self, request):
        data = _validated(s.AgentCredentialsInput, request.data)
        try:
            target = f"attempt:{data['client_id']}/{data['test_attempt_id']}"
            with hmac_failure_limit(request, target=target):
                client = _client_or_refusal(data["client_id"])
                _check_hmac(
                    client,
                    message=data["test_attempt_id"],
                    candidate=data["hashed_test_attempt_id"],
                    refusal=BAD_ATTEMPT_HASH_MESSAGE,
                )
            check_origin(request, client)
        except ProctoringError as error:
            raise CredentialRefused(error) from error
        credential = AttemptCredential(client=client, test_attempt_id=data["test_attempt_id"])
        return (credential, credential)


class ResultsTimestampAuthentication(authentication.BaseAuthentication):
    """clientId, unixTimestamp and hashedUnixTimestamp in the query string; a timestamp older
    than PROCTOR_RESULTS_MAX_AGE_S is refused, so a leaked link stops working within a minute."""

    def authenticate(self, request):
        query = _validated(s.ResultsCredentialsQuery, request.query_params)
        try:
            with hmac_failure_limit(request, target=f"results:{query['clientId']}"):
                client = _results_client(query, now=time.time())
        except ProctoringError as error:
            raise CredentialRefused(error) from error
        return (client, client)


def _results_client(query: dict, *, now: float) -> Client:
    client = _client_or_refusal(query["clientId"])
    age = now - query["unixTimestamp"]
    if age > settings.PROCTOR_RESULTS_MAX_AGE_S or -age > settings.PROCTOR_RESULTS_MAX_SKEW_S:
        # Checked before the HMAC so a stale link is told apart from a forged one.
        raise TimestampExpired(STALE_TIMESTAMP_MESSAGE)
    _check_hmac(
        client,
        message=results_signed_message(query["unixTimestamp"], query.get("lookup_key")),
        candidate=query["hashedUnixTimestamp"],
        refusal=BAD_TIMESTAMP_HASH_MESSAGE,
    )
    return client


def results_signed_message(unix_timestamp: int, lookup_key: str | None) -> str:
    """What a results link signs: the timestamp, and the lookup key when it filters by one, so
    that a link given for one course cannot be widened to every course by dropping the key."""
    return f"{unix_timestamp}:{lookup_key}" if lookup_key else str(unix_timestamp)


class IsClient(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, Client)


class HasAttemptCredential(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, AttemptCredential)
