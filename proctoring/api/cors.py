"""CORS for the browser SDK: which pages on other origins may call the capture endpoints.

django-cors-headers writes the headers; this module only decides. A preflight names no client,
so it passes for an origin that any active client lists (Client.allowed_origins); the request
that follows is then checked against its own client's list by AttemptHmacAuthentication, which
refuses another client's origin with 403 origin_not_allowed. A request without an Origin header
(the Python agent, curl) or from the server's own origin (the demo page) is not a cross-origin
request and needs no listing.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.dispatch import receiver

from proctoring.exceptions import OriginNotAllowed
from proctoring.origins import normalize_origin

if TYPE_CHECKING:
    from proctoring.models import Client

# The union of the clients' origins is read at most every PROCTOR_CORS_ORIGINS_CACHE_S per
# process: an origin added in the admin works within seconds, and a burst of candidates (or of
# preflights from anywhere) costs no query each.
_cache: dict[str, tuple[float, frozenset[str]]] = {}


def _known_origins() -> frozenset[str]:
    now = time.monotonic()
    cached = _cache.get("origins")
    if cached is None or now - cached[0] >= settings.PROCTOR_CORS_ORIGINS_CACHE_S:
        # Imported here: every process connects this receiver (AppConfig.ready), and the media
        # process must load no selector (tests/proctoring/ingest/test_pure_adapter.py).
        from proctoring.selectors.clients import client_allowed_origins_any

        cached = (now, client_allowed_origins_any())
        _cache["origins"] = cached
    return cached[1]


def forget_cached_origins() -> None:
    """Tests and the admin: read the clients' origins again on the next request."""
    _cache.clear()


@receiver(check_request_enabled)
def origin_listed_by_a_client(sender, request, **kwargs) -> bool:
    """django-cors-headers asks this for the requests its URL pattern does not cover as well,
    so the pattern is checked here too: the integrator API never answers another origin."""
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = normalize_origin(request.headers.get("origin", ""))
    return origin is not None and origin in _known_origins()


def _own_origin(request) -> str | None:
    return normalize_origin(f"{request.scheme}://{request.get_host()}")


def check_origin(request, client: Client) -> None:
    """Refuse a browser page on an origin this client did not list (raises OriginNotAllowed)."""
    given = request.headers.get("origin")
    if given is None:
        return  # not a browser's cross-origin call: the HMAC alone decides
    origin = normalize_origin(given)
    if origin is not None and (origin == _own_origin(request) or origin in client.allowed_origins):
        return
    raise OriginNotAllowed(
        f"Pages on {given} may not use this client's attempts: add the origin to the "
        "client's allowed origins in the admin."
    )
