"""Failed HMAC checks are counted per client and per IP; past the limit, refuse before checking."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from proctoring.api.throttles import key_part
from proctoring.exceptions import AuthenticationFailed, InvalidHash

TOO_MANY_FAILURES_MESSAGE = "Too many failed signature checks; try again later."
KEY_PREFIX = "hmac-failures"


def _keys(request, client_id: str) -> list[tuple[str, int]]:
    ip = BaseThrottle().get_ident(request)
    return [
        (f"{KEY_PREFIX}:client:{key_part(client_id)}", settings.PROCTOR_HMAC_FAILURES_PER_CLIENT),
        (f"{KEY_PREFIX}:ip:{ip}", settings.PROCTOR_HMAC_FAILURES_PER_IP),
    ]


def _record_failure(keys: list[tuple[str, int]]) -> None:
    window = settings.PROCTOR_HMAC_FAILURE_WINDOW_S
    for key, _ in keys:
        # add() starts a fixed window; incr() is atomic in Redis across workers.
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


@contextmanager
def hmac_failure_limit(request, *, client_id: str) -> Iterator[None]:
    """Wrap an HMAC verification: refuse with 429 once either count is at its limit."""
    keys = _keys(request, client_id)
    counts = cache.get_many([key for key, _ in keys])
    if any(counts.get(key, 0) >= limit for key, limit in keys):
        raise Throttled(
            wait=settings.PROCTOR_HMAC_FAILURE_WINDOW_S, detail=TOO_MANY_FAILURES_MESSAGE
        )
    try:
        yield
    except (InvalidHash, AuthenticationFailed):
        _record_failure(keys)
        raise
