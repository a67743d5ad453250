"""Serve the SDK at stable versioned URLs (/sdk/v1/...), and the demo exam page."""

import re
import secrets

from csp.decorators import csp_update
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect
from django.utils.html import json_script
from django.views.decorators.http import require_GET

from proctoring import signing
from proctoring.sdk import files
from proctoring.selectors.clients import client_active, client_secrets

# Within v1 the file changes only with the server (fixes, never a breaking change): browsers
# keep it five minutes, then revalidate by ETag (a 304 costs a few bytes).
SCRIPT_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"
DEMO_ATTEMPT = re.compile(r"^demo-[A-Za-z0-9_-]{1,30}$")
CREDENTIALS_MARK = "<!--@@CREDENTIALS@@-->"
# The demo plays an integrator's own exam page, written with inline script and style as such
# pages often are. It is off in production (PROCTOR_SDK_DEMO_CLIENT_ID), so the strict policy
# of every other page (settings.CONTENT_SECURITY_POLICY) is relaxed for it alone.
DEMO_PAGE_CSP = {
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
}


def _file_response(request: HttpRequest, served: files.Served, content_type: str) -> HttpResponse:
    if request.headers.get("If-None-Match") == served.etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(served.body, content_type=content_type)
    response["ETag"] = served.etag
    response["Cache-Control"] = SCRIPT_CACHE_CONTROL
    # Exam pages on any origin load it (also with crossorigin="anonymous" and SRI).
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def script(request: HttpRequest) -> HttpResponse:
    """GET /sdk/v1/autoproctor.js: the SDK, with the protocol definition written in."""
    return _file_response(request, files.script(), "text/javascript; charset=utf-8")


@require_GET
def declarations(request: HttpRequest) -> HttpResponse:
    """GET /sdk/v1/autoproctor.d.ts: TypeScript declarations for integrators."""
    return _file_response(request, files.declarations(), "text/plain; charset=utf-8")


def _demo_client():
    client_id = settings.PROCTOR_SDK_DEMO_CLIENT_ID
    client = client_active(client_id=client_id) if client_id else None
    if client is None:
        raise Http404(
            "The demo exam page is off: PROCTOR_SDK_DEMO_CLIENT_ID (`make demo` sets it)."
        )
    return client


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@csp_update(DEMO_PAGE_CSP)
@require_GET
def demo(request: HttpRequest) -> HttpResponse:
    """GET /sdk/v1/demo/: a tiny quiz proctored by the SDK, as an exam platform would build it.

    This view plays the platform's backend: it signs the attempt id with the demo client's
    secret, so the page gets the hash and never the secret. Off unless PROCTOR_SDK_DEMO_CLIENT_ID
    names a client (never in production). The attempt id stays in the URL, so a reload resumes.
    """
    client = _demo_client()
    attempt = request.GET.get("attempt", "")
    if not DEMO_ATTEMPT.match(attempt):
        return redirect(f"{request.path}?attempt=demo-{secrets.token_hex(6)}")
    credentials = {
        "clientId": client.client_id,
        "testAttemptId": attempt,
        "hashedTestAttemptId": signing.hash_test_attempt_id(
            client_secret=client_secrets(client=client)[0], test_attempt_id=attempt
        ),
    }
    html = files.page(files.DEMO_PAGE).replace(
        CREDENTIALS_MARK, json_script(credentials, "ap-credentials")
    )
    return _no_store(HttpResponse(html, content_type="text/html; charset=utf-8"))


@csp_update(DEMO_PAGE_CSP)
@require_GET
def demo_done(request: HttpRequest) -> HttpResponse:
    """GET /sdk/v1/demo/done/: where the demo goes once apMonitoringStopped fired."""
    _demo_client()
    html = files.page(files.DEMO_DONE_PAGE)
    return _no_store(HttpResponse(html, content_type="text/html; charset=utf-8"))
