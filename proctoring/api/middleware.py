"""Refuse API request bodies over the configured size before anything reads them, and refuse
to serve beyond loopback with the public development key."""

import asyncio
import contextlib
import ipaddress
import json
import logging

from django.conf import settings
from django.http import JsonResponse

logger = logging.getLogger(__name__)
API_PREFIX = "/api/"
TOO_LARGE_STATUS = 413
# After refusing a body, read and drop the rest of it, up to this many times the limit and this
# long: a server that closes with unread bytes makes the kernel reset the connection, and the
# client, still sending, gets a broken pipe instead of the 413 (the lingering close of httpd and
# nginx). Past either bound the connection is closed as it is.
REFUSED_BODY_DRAIN_FACTOR = 8
REFUSED_BODY_DRAIN_S = 2.0


def too_large_body() -> dict[str, str]:
    limit = settings.PROCTOR_MAX_REQUEST_BYTES
    return {
        "code": "request_too_large",
        "message": f"The request body is larger than {limit} bytes.",
    }


def declared_length_too_large(content_length: str | bytes | None) -> bool:
    """A Content-Length over the limit, or one that is not a number."""
    try:
        return int(content_length or 0) > settings.PROCTOR_MAX_REQUEST_BYTES
    except ValueError:
        return True


class RequestSizeLimitMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX) and self._too_large(request):
            return JsonResponse(too_large_body(), status=TOO_LARGE_STATUS)
        return self.get_response(request)

    @staticmethod
    def _too_large(request) -> bool:
        return declared_length_too_large(request.META.get("CONTENT_LENGTH"))


class BodySizeLimitASGI:
    """ASGI: count an API request's body as it arrives and refuse it at the limit.

    A chunked body has no Content-Length for the middleware above, and Django's ASGI handler
    would spool all of it (to disk past 2.5 MB) before any middleware runs. Up to the limit
    the body is held here and handed on unchanged.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        messages = None if _declares_too_much(scope) else await self._body_within_limit(receive)
        if messages is None:
            await self._refuse(send)
            return
        pending = iter(messages)

        async def replay():
            return next(pending, None) or await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _body_within_limit(receive) -> list[dict] | None:
        """The request's messages up to the body's end, or None once it passes the limit."""
        limit, size, messages = settings.PROCTOR_MAX_REQUEST_BYTES, 0, []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client left: the app sees the disconnect
            size += len(message.get("body", b""))
            if size > limit:
                if message.get("more_body", False):
                    await _drain(receive, size)
                return None
            if not message.get("more_body", False):
                return messages

    @staticmethod
    async def _refuse(send) -> None:
        body = json.dumps(too_large_body()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": TOO_LARGE_STATUS, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive, size: int) -> None:
    """Drop the rest of a refused body, within REFUSED_BODY_DRAIN_* (nothing is kept)."""
    bound = settings.PROCTOR_MAX_REQUEST_BYTES * REFUSED_BODY_DRAIN_FACTOR
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(REFUSED_BODY_DRAIN_S):
            while size <= bound:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                size += len(message.get("body", b""))


def _declares_too_much(scope) -> bool:
    """A Content-Length past the limit is refused before a byte of the body is read."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return declared_length_too_large(value)
    return False


INSECURE_KEY_STATUS = 503
INSECURE_KEY_BODY = {
    "code": "insecure_secret_key",
    "message": (
        "This server runs with the public development SECRET_KEY and answers only on a loopback "
        "address. Set DJANGO_SECRET_KEY (and PROCTOR_SECRET_ENCRYPTION_KEY) to serve a network."
    ),
}


def _is_loopback(server) -> bool:
    """The address the request arrived on (ASGI `server`); a Unix socket counts as local."""
    if not server or server[1] is None:
        return True
    try:
        return ipaddress.ip_address(server[0]).is_loopback
    except ValueError:
        return False


# A reverse proxy on this machine connects over loopback but says whom it forwards for.
PROXY_HEADERS = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip"})


def _from_beyond_this_machine(scope) -> bool:
    if not _is_loopback(scope.get("server")):
        return True
    return any(name.lower() in PROXY_HEADERS for name, _ in scope.get("headers", []))


class LoopbackOnlyWithDevelopmentKeyASGI:
    """With the development SECRET_KEY, every request that arrived on a non-loopback address, or
    through a reverse proxy (its forwarding headers), is refused (503 insecure_secret_key):
    `uvicorn --host 0.0.0.0` with no key set serves its own machine and nobody else. The
    listening address is not known before the first request, so the refusal is per request;
    the log says it once."""

    def __init__(self, app) -> None:
        self.app = app
        self._warned = False

    async def __call__(self, scope, receive, send) -> None:
        exposed = scope["type"] in ("http", "websocket") and _from_beyond_this_machine(scope)
        if not (exposed and settings.SECRET_KEY_IS_DEVELOPMENT):
            await self.app(scope, receive, send)
            return
        if not self._warned:
            self._warned = True
            logger.error(
                "refusing requests on %s: %s", scope["server"][0], INSECURE_KEY_BODY["message"]
            )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps(INSECURE_KEY_BODY).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send(
            {"type": "http.response.start", "status": INSECURE_KEY_STATUS, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})


API_ERROR_BODIES = {
    404: {"code": "not_found", "message": "No API endpoint matches this URL."},
    405: {"code": "method_not_allowed", "message": "This method is not allowed on this URL."},
}


class ApiErrorShapeMiddleware:
    """Every 404 and 405 under /api/ in the one error shape, also with DEBUG=True (where Django
    answers an unmatched URL with its HTML debug page, not with handler404) and from views
    outside DRF (Django's own 405). A JSON answer from a view (a DRF error, already in the
    shape) passes unchanged."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        body = API_ERROR_BODIES.get(response.status_code)
        if body is None or not request.path.startswith(API_PREFIX):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        shaped = JsonResponse(body, status=response.status_code)
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped
