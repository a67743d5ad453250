"""Web origins ("https://exam.example.com"): the exam pages a client lets use the browser SDK."""

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from proctoring.exceptions import ValidationFailed

SCHEMES = ("https", "http")
MAX_ORIGINS = 50
MAX_ORIGIN_LENGTH = 200
# A host name as browsers send it in Origin (IDNs arrive punycoded): letters, digits, dots,
# hyphens (and underscores, which some names hold). urlsplit takes "x.example; script-src *"
# for a host, and an origin is also copied into headers (CSP frame-ancestors): all else refused.
HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\Z")


def _valid_host(host: str) -> bool:
    if HOST_NAME.match(host):
        return True
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def normalize_origin(value: str) -> str | None:
    """The origin as a browser sends it (scheme://host[:port], lowercase, no default port), or
    None when `value` is not an origin (a path, a query, a user, another scheme)."""
    if not isinstance(value, str) or len(value) > MAX_ORIGIN_LENGTH:
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in SCHEMES or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if not _valid_host(parts.hostname):
        return None
    default = {"https": 443, "http": 80}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def validate_origin_list(value: Any, *, field: str) -> list[str]:
    """A client's list of origins (`field` names it in errors): normalized and sorted."""
    if not isinstance(value, list):
        raise ValidationFailed(f"{field} must be a list of origins")
    if len(value) > MAX_ORIGINS:
        raise ValidationFailed(f"{field} holds at most {MAX_ORIGINS} origins")
    found = []
    for item in value:
        origin = normalize_origin(item)
        if origin is None:
            raise ValidationFailed(
                f"{field}: {item!r} is not an origin like 'https://exam.example.com' "
                "(scheme, host and port only)"
            )
        found.append(origin)
    return sorted(set(found))


def validate_allowed_origins(value: Any) -> list[str]:
    """Client.allowed_origins: the exam pages that may call the agent endpoints (CORS)."""
    return validate_origin_list(value, field="allowed_origins")
