"""Where a webhook may be sent: https to a public address, checked when the URL is saved and
again, on the resolved address, at every delivery (which then connects to that very address, so
a name cannot resolve to a public address for the check and a private one for the request)."""

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError


class UnsafeTarget(Exception):
    """A URL the server must not call: not https, or not a public address."""


@dataclass(frozen=True)
class Target:
    url: str  # with the resolved address in place of the name
    host: str  # the Host header: the name (and port) as the client wrote it
    sni: str  # the name TLS verifies the certificate against


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def _allowed(address: str) -> bool:
    return settings.PROCTOR_WEBHOOK_ALLOW_PRIVATE or _is_public(address)


def _parts(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url)
    schemes = ("https", "http") if settings.PROCTOR_WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeTarget(f"a webhook URL must be {' or '.join(schemes)} with a host name")
    if parts.username or parts.password:
        raise UnsafeTarget("a webhook URL may not carry credentials")
    return parts


def check_url(url: str) -> None:
    """The checks that need no DNS, for saving a URL: the scheme, and a literal address or
    `localhost` that is not public."""
    parts = _parts(url)
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        literal = "127.0.0.1"
    else:
        try:
            literal = str(ipaddress.ip_address(host))
        except ValueError:
            return  # a name: checked on its addresses at each delivery
    if not _allowed(literal):
        raise UnsafeTarget("a webhook URL must point to a public address")


def validate_webhook_url(url: str) -> None:
    """Django field validator around check_url."""
    if not url:
        return
    try:
        check_url(url)
    except UnsafeTarget as exc:
        raise ValidationError(str(exc)) from exc


def resolve(url: str) -> Target:
    """The URL with its host resolved now and every address checked; UnsafeTarget if any is
    not public (a name with a private address among its answers is refused outright)."""
    parts = _parts(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget("the host name does not resolve") from exc
    addresses = sorted({info[4][0] for info in infos})
    if not addresses or not all(_allowed(address) for address in addresses):
        raise UnsafeTarget("the host name resolves to an address that is not public")
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    pinned = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host = parts.netloc.rsplit("@", 1)[-1]
    return Target(url=pinned, host=host, sni=parts.hostname)
