"""Refuse API request bodies over the configured size before anything reads them."""

from django.conf import settings
from django.http import JsonResponse

API_PREFIX = "/api/"


class RequestSizeLimitMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX) and self._too_large(request):
            limit = settings.PROCTOR_MAX_REQUEST_BYTES
            return JsonResponse(
                {
                    "code": "request_too_large",
                    "message": f"The request body is larger than {limit} bytes.",
                },
                status=413,
            )
        return self.get_response(request)

    @staticmethod
    def _too_large(request) -> bool:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return True
        return length > settings.PROCTOR_MAX_REQUEST_BYTES
