"""Rate limits per client and per IP (state in the Redis cache, shared by all web workers)."""

import hashlib

from django.conf import settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from proctoring.api.principals import AttemptCredential
from proctoring.models import Client


def claimed_client_id(request) -> str:
    """The client a request speaks for: the authenticated one, else the one it names."""
    if isinstance(request.user, Client):
        return request.user.client_id
    if isinstance(request.user, AttemptCredential):
        return request.user.client.client_id
    named = request.query_params.get("clientId") or request.query_params.get("client_id")
    if not named and request.method == "POST":
        data = request.data
        named = data.get("client_id") if isinstance(data, dict) else None
    return str(named)[:64] if named else ""


def client_address(request) -> str:
    """The caller's address as the throttles see it (behind PROCTOR_NUM_PROXIES proxies)."""
    return BaseThrottle().get_ident(request)


def key_part(value: str) -> str:
    """Client-supplied text made safe and bounded for a cache key."""
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return settings.PROCTOR_THROTTLE_RATES.get(self.scope)


class ClientRateThrottle(_SettingsRateThrottle):
    scope = "client"

    def get_cache_key(self, request, view) -> str | None:
        ident = claimed_client_id(request)
        return (
            self.cache_format % {"scope": self.scope, "ident": key_part(ident)} if ident else None
        )


class IpRateThrottle(_SettingsRateThrottle):
    scope = "ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AttemptRateThrottle(_SettingsRateThrottle):
    """Agent endpoints: one candidate's attempt, so an exam of many candidates shares nothing."""

    scope = "agent"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        ident = f"{claimed_client_id(request)}/{str(data.get('test_attempt_id', ''))[:40]}"
        return self.cache_format % {"scope": self.scope, "ident": key_part(ident)}


class AgentIpRateThrottle(IpRateThrottle):
    """A looser per-address bound for agents: an exam hall puts many candidates behind one NAT."""

    scope = "agent_ip"
