"""The HTTP half of the agent protocol (docs/agent-protocol.md): health, sessions, stop, status."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

import protocol
from agent.codes import AgentError, ErrorCode

logger = logging.getLogger(__name__)

HEALTH_PATH = "/api/v1/health/"
SESSIONS_PATH = "/api/v1/agent/sessions/"
OPTIONS_PATH = "/api/v1/agent/options/"
STOP_PATH = "/api/v1/agent/stop/"
STATUS_PATH = "/api/v1/agent/status/"
REQUEST_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 5.0
RETRY_FIRST_DELAY_S = 0.25
RETRY_MAX_DELAY_S = 5.0
STATUS_POLL_INTERVAL_S = 0.5
# Polling slows down while the score is pending: many candidates stop at the same moment.
STATUS_POLL_MAX_INTERVAL_S = 3.0
TOO_MANY_REQUESTS = 429
NOT_FOUND = 404


def redact(value: str) -> str:
    """Enough of a hashed id to tell attempts apart in logs, never the whole value."""
    return f"{value[:6]}…" if len(value) > 6 else "…"


def _server_error(response: httpx.Response, action: str) -> AgentError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    server_code = str(body.get("code") or f"http_{response.status_code}")
    message = str(body.get("message") or response.reason_phrase or "server error")
    # 5xx (e.g. 503 ingest_unavailable) means the service is not ready: the SDK's "failed to
    # load"; 4xx means the server refused this attempt.
    code = ErrorCode.FAILED_TO_LOAD if response.status_code >= 500 else ErrorCode.SERVER_REJECTED
    return AgentError(
        code,
        f"{action} failed: {message} ({server_code})",
        server_code=server_code,
        http_status=response.status_code,
    )


def _code(response: httpx.Response) -> str:
    """The server's stable error code, or "" when the body is not the error shape."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def _retry_after(response: httpx.Response) -> float:
    """Seconds from a Retry-After header (delta form), else 0."""
    try:
        return min(float(response.headers.get("Retry-After", 0)), RETRY_MAX_DELAY_S * 6)
    except ValueError:
        return 0.0


def _unreachable(server: str, exc: Exception) -> AgentError:
    return AgentError(ErrorCode.FAILED_TO_LOAD, f"server {server} unreachable: {exc}")


class Deadline:
    """A monotonic deadline shared by the retries of one operation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


class ServerClient:
    """Typed calls to the web service; every request carries the attempt's credentials."""

    def __init__(
        self,
        server: str,
        credentials: dict[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self._credentials = dict(credentials)
        # The current session's token (from the last start): stop and status need it.
        self.session_token: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.server, timeout=REQUEST_TIMEOUT_S, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_health(self) -> None:
        try:
            response = await self._http.get(HEALTH_PATH, timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise _unreachable(self.server, exc) from exc
        try:
            healthy = response.status_code == 200 and response.json().get("status") == "ok"
        except (ValueError, AttributeError):
            healthy = False
        if not healthy:
            message = f"server {self.server} is not healthy (HTTP {response.status_code})"
            raise AgentError(ErrorCode.FAILED_TO_LOAD, message, http_status=response.status_code)

    async def resolve_options(self, options: dict[str, Any]) -> dict[str, Any] | None:
        """What a start would run with: the server decides (the integrator's options stand).
        None from a server without the endpoint (older than protocol v1's options step)."""
        payload = {**self._credentials, "options": options}
        try:
            response = await self._http.post(OPTIONS_PATH, json=payload)
        except httpx.HTTPError as exc:
            raise _unreachable(self.server, exc) from exc
        if response.status_code == NOT_FOUND and _code(response) != "attempt_not_found":
            return None
        if response.status_code != 200:
            raise _server_error(response, "setup")
        return response.json()

    async def create_session(
        self,
        options: dict[str, Any],
        offer: dict[str, str],
        *,
        track_roles: dict[str, str] | None = None,
        resume_token: str | None = None,
    ) -> dict:
        payload = {
            **self._credentials,
            "protocol": protocol.VERSION,
            "options": options,
            "offer": offer,
        }
        if track_roles:
            payload["track_roles"] = track_roles
        if resume_token:
            # Proves this is the same client reconnecting, not a second session.
            payload["resume_token"] = resume_token
        try:
            response = await self._http.post(SESSIONS_PATH, json=payload)
        except httpx.HTTPError as exc:
            raise _unreachable(self.server, exc) from exc
        if response.status_code != 201:
            raise _server_error(response, "start")
        reply = response.json()
        self.session_token = reply.get("session_token") or self.session_token
        return reply

    async def _post_with_retry(self, path: str, action: str, deadline: Deadline) -> dict:
        """POST until a non-5xx answer; connection errors and 5xx are retried with backoff."""
        delay = RETRY_FIRST_DELAY_S
        while True:
            try:
                body = {**self._credentials, "session_token": self.session_token or ""}
                response = await self._http.post(path, json=body)
                if response.status_code < 500 and response.status_code != TOO_MANY_REQUESTS:
                    break
                failure: AgentError = _server_error(response, action)
                # A rate limit is temporary: wait at least as long as the server asks.
                delay = max(delay, _retry_after(response))
            except httpx.HTTPError as exc:
                failure = _unreachable(self.server, exc)
            if deadline.remaining() < delay:
                raise AgentError(
                    failure.code,
                    f"{action} did not succeed within {deadline.seconds:g} s: {failure.message}",
                    server_code=failure.server_code,
                    http_status=failure.http_status,
                )
            logger.info("%s: %s; retrying in %.2f s", action, failure.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY_S)
        if response.status_code >= 400:
            raise _server_error(response, action)
        return response.json()

    async def request_stop(self, deadline: Deadline) -> dict:
        return await self._post_with_retry(STOP_PATH, "stop", deadline)

    async def wait_stopped(self, deadline: Deadline) -> dict:
        """Poll the attempt's status until it is `stopped` (the Trust Score is then final)."""
        interval = STATUS_POLL_INTERVAL_S
        while True:
            status = await self._post_with_retry(STATUS_PATH, "status", deadline)
            if status.get("status") == "stopped":
                return status
            if deadline.remaining() < interval:
                raise AgentError(
                    ErrorCode.FAILED_TO_LOAD,
                    f"attempt not stopped within {deadline.seconds:g} s "
                    f"(last status {status.get('status')!r})",
                )
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, STATUS_POLL_MAX_INTERVAL_S)
