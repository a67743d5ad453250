"""Failed signature checks are counted per source address and per target, never held against a
correct signature: other people's failures can neither lock a candidate out of their exam nor
block a whole client, whose client_id is public."""

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


def _keys(request, target: str) -> list[tuple[str, int]]:
    source = BaseThrottle().get_ident(request)
    return [
        (f"{KEY_PREFIX}:source:{source}", settings.PROCTOR_HMAC_FAILURES_PER_SOURCE),
        (f"{KEY_PREFIX}:target:{key_part(target)}", settings.PROCTOR_HMAC_FAILURES_PER_TARGET),
    ]


def _record_failure(keys: list[tuple[str, int]]) -> list[int]:
    window = settings.PROCTOR_HMAC_FAILURE_WINDOW_S
    counts = []
    for key, _ in keys:
        # add() starts a fixed window; incr() is atomic in Redis across workers.
        cache.add(key, 0, timeout=window)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            counts.append(1)
    return counts


@contextmanager
def hmac_failure_limit(request, *, target: str) -> Iterator[None]:
    """Wrap a signature check of `target` (an attempt, a client's results page).

    A correct signature always passes. A wrong one is counted for its source address and for
    the target; past either limit it is answered 429 instead of 403, so guessing stays slow
    (a 256-bit HMAC is not guessed anyway) while nobody's failures refuse someone else.
    """
    keys = _keys(request, target)
    try:
        yield
    except (InvalidHash, AuthenticationFailed):
        counts = _record_failure(keys)
        if any(count > limit for count, (_, limit) in zip(counts, keys, strict=True)):
            raise Throttled(
                wait=settings.PROCTOR_HMAC_FAILURE_WINDOW_S, detail=TOO_MANY_FAILURES_MESSAGE
            ) from None
        raise
