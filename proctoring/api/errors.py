"""One error shape for every API failure: {"code": "...", "message": "..."}."""

import logging

from django.db import DatabaseError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from proctoring.api.auth import CredentialRefused
from proctoring.api.middleware import API_PREFIX
from proctoring.exceptions import ProctoringError

logger = logging.getLogger(__name__)

DRF_CODES = {
    exceptions.ParseError: "invalid_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "unknown_client",
    exceptions.ValidationError: "validation_error",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.PermissionDenied: "permission_denied",
}


def error_response(*, code: str, message: str, status_code: int, **extra) -> Response:
    return Response({"code": code, "message": message, **extra}, status=status_code)


def _log_as_backpressure(response: Response, exc: ProctoringError) -> None:
    """A full or unreachable ingest is load the client retries through, not a fault: a warning.

    Django would log every 5xx at ERROR, which pages operators and fails the soak's log check.
    """
    logger.warning("%s: %s (%d)", exc.code, exc.message, exc.status_code)
    response._has_been_logged = True  # django.utils.log.log_response skips it then


def _first_message(detail) -> str:
    """Flatten DRF's nested validation detail into one readable line."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        inner = _first_message(value)
        return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, CredentialRefused):
        exc = exc.error
    if isinstance(exc, ProctoringError):
        response = error_response(code=exc.code, message=exc.message, status_code=exc.status_code)
        if exc.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
            _log_as_backpressure(response, exc)
        return response
    if isinstance(exc, DatabaseError):
        logger.error("database unavailable: %s", type(exc).__name__)
        return error_response(
            code="database_unavailable",
            message="The database is unavailable; try again shortly.",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    extra = {"errors": exc.detail} if isinstance(exc, exceptions.ValidationError) else {}
    response.data = {"code": code, "message": _first_message(exc.detail), **extra}
    return response


def not_found(request, exception=None):
    """handler404: a URL under the API that matches no route still answers in the error shape."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"code": "not_found", "message": "No API endpoint matches this URL."}, status=404
        )
    return defaults.page_not_found(request, exception)
