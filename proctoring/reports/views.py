"""Report pages: one attempt (a signed link) and a client's attempts (a signed timestamp).

Read-only HTML for integrators' iframes: each response carries its own Content-Security-Policy
(proctoring.reports.csp) and is exempt from X-Frame-Options, which cannot name origins.
"""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe
from rest_framework.views import APIView

from proctoring import score_bands
from proctoring.api.auth import IsClient, ResultsTimestampAuthentication
from proctoring.api.errors import exception_handler
from proctoring.api.pagination import Pagination
from proctoring.api.serializers import ResultsQuery
from proctoring.exceptions import LinkExpired, ProctoringError
from proctoring.reports.context import report_context
from proctoring.reports.csp import with_report_policy
from proctoring.selectors import attempts as attempt_selectors
from proctoring.selectors.clients import client_active
from proctoring.services import report_links

REFUSAL_TITLES = {
    "invalid_link": "This report link is not valid",
    "link_expired": "This report link has expired",
    "report_not_found": "This report is no longer available",
    "timestamp_expired": "This results link has expired",
    "invalid_hash": "This results link is not valid",
    "unknown_client": "This results link is not valid",
    "validation_error": "This results link is incomplete",
    "rate_limited": "Too many failed attempts; try again later",
}


def refusal_page(request, *, code: str, message: str, status: int, client=None):
    context = {"code": code, "message": message, "title": REFUSAL_TITLES.get(code, "Refused")}
    response = render(request, "reports/refused.html", context, status=status)
    return with_report_policy(response, client)


@xframe_options_exempt
@require_safe
def report_page(request, token: str):
    """One attempt's report; the signed link is the only credential."""
    try:
        attempt, expires_at = report_links.report_for_link(token=token)
    except LinkExpired as refusal:
        client = client_active(client_id=getattr(refusal, "client_id", ""))
        return refusal_page(
            request, code=refusal.code, message=refusal.message, status=410, client=client
        )
    except ProctoringError as refusal:
        return refusal_page(
            request, code=refusal.code, message=refusal.message, status=refusal.status_code
        )
    context = report_context(request=request, attempt=attempt, expires_at=expires_at)
    response = render(request, "reports/report.html", context)
    return with_report_policy(response, attempt.client)


class ResultsPageView(APIView):
    """A client's attempts as an HTML table (SDK showResults), each row linking to its report
    through a freshly minted link. Authenticated exactly as /api/v1/results/ (the same
    authentication class, failure limit and codes); refusals are an HTML page."""

    schema = None  # HTML, not part of the API's schema
    authentication_classes = [ResultsTimestampAuthentication]
    permission_classes = [IsClient]

    def get(self, request):
        query = ResultsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = attempt_selectors.AttemptFilters(
            lookup_key=query.validated_data.get("lookup_key")
        )
        found = attempt_selectors.attempt_list(client=request.user, filters=filters)
        paginator = Pagination()
        page = paginator.paginate_queryset(found, request, view=self)
        context = {
            "client": request.user,
            "brand_name": request.user.display_name or request.user.name,
            "logo_url": request.user.logo_url,
            "rows": [_results_row(request, attempt) for attempt in page],
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
        }
        response = render(request._request, "reports/results.html", context)
        return with_report_policy(response, request.user)

    def handle_exception(self, exc):
        response = exception_handler(exc, self.get_exception_handler_context())
        if response is None:
            raise exc
        return refusal_page(
            self.request._request,
            code=response.data["code"],
            message=response.data["message"],
            status=response.status_code,
        )

    @classmethod
    def as_view(cls, **initkwargs):
        return xframe_options_exempt(super().as_view(**initkwargs))


def _results_row(request, attempt) -> dict:
    link = report_links.report_link_mint(client=request.user, attempt=attempt)
    band = score_bands.score_band(attempt)
    return {
        "attempt": attempt,
        "band": band,
        "band_label": score_bands.BAND_LABELS[band],
        "candidate": (attempt.user_details or {}).get("name", ""),
        "report_url": reverse("report-page", kwargs={"token": link.token}),
    }
