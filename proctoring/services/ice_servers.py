"""The ICE servers a browser gets before it builds its peer connection: STUN, and TURN with
short-lived credentials of the TURN REST scheme, signed with the secret coturn shares."""

import time
from typing import Any

from django.conf import settings

from proctoring import signing
from proctoring.models import Client


def ice_servers_for(*, client: Client, now: float | None = None) -> dict[str, Any]:
    """{"ice_servers": [...], "ttl_s": ...} in RTCIceServer's shape. The TURN username names the
    client and when the credential expires; the secret itself never leaves the server."""
    servers: list[dict[str, Any]] = []
    if settings.PROCTOR_STUN_URLS:
        servers.append({"urls": list(settings.PROCTOR_STUN_URLS)})
    ttl = settings.PROCTOR_TURN_TTL_S
    if settings.PROCTOR_TURN_URLS:
        expires = int(now if now is not None else time.time()) + ttl
        username = f"{expires}:{client.client_id}"
        credential = signing.turn_rest_credential(
            secret=settings.PROCTOR_TURN_SECRET, username=username
        )
        servers.append(
            {
                "urls": list(settings.PROCTOR_TURN_URLS),
                "username": username,
                "credential": credential,
            }
        )
    return {"ice_servers": servers, "ttl_s": ttl}
