"""The admin login lockout's view of the caller's address (django-axes, backend/settings.py)."""

from django.conf import settings


def client_address(request) -> str:
    """REMOTE_ADDR, or the address the last of PROCTOR_NUM_PROXIES trusted proxies saw.

    X-Forwarded-For is trusted only behind declared proxies: otherwise a client could name a
    new address on every try and never reach the per-address limit."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote
