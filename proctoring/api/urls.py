"""API v1 routes."""

from django.urls import path, register_converter
from django.urls.converters import StringConverter

from proctoring.api import views


class AttemptIdConverter(StringConverter):
    """A test_attempt_id in a path: no NUL, which no stored id holds and PostgreSQL refuses to
    compare (such a URL is a 404 like any other unmatched one)."""

    regex = r"[^/\x00]+"


register_converter(AttemptIdConverter, "attempt_id")

ATTEMPT = "attempts/<attempt_id:test_attempt_id>/"

urlpatterns = [
    path("health/", views.HealthView.as_view(), name="health"),
    path("protocol/", views.ProtocolView.as_view(), name="protocol"),
    path("attempts/", views.AttemptListCreateView.as_view(), name="attempt-create"),
    path(ATTEMPT, views.AttemptDetailView.as_view(), name="attempt-detail"),
    path(f"{ATTEMPT}rescore/", views.AttemptRescoreView.as_view(), name="attempt-rescore"),
    path(f"{ATTEMPT}violations/", views.ViolationListView.as_view(), name="violation-list"),
    path(
        f"{ATTEMPT}violations/<str:violation_id>/",
        views.ViolationDetailView.as_view(),
        name="violation-detail",
    ),
    path(f"{ATTEMPT}evidence/", views.EvidenceListView.as_view(), name="evidence-list"),
    path(f"{ATTEMPT}id-card/", views.AttemptIdCardView.as_view(), name="attempt-id-card"),
    path(
        f"{ATTEMPT}evidence/<str:evidence_id>/link/",
        views.EvidenceLinkView.as_view(),
        name="evidence-link",
    ),
    path(
        "evidence/download/<str:token>/",
        views.EvidenceDownloadView.as_view(),
        name="evidence-download",
    ),
    path(
        "recordings/download/<str:token>/",
        views.RecordingDownloadView.as_view(),
        name="recording-download",
    ),
    path(f"{ATTEMPT}report-link/", views.ReportLinkView.as_view(), name="attempt-report-link"),
    path("results/", views.ResultsView.as_view(), name="results"),
    path("usage/", views.UsageView.as_view(), name="usage"),
    path(
        "webhooks/deliveries/",
        views.WebhookDeliveryListView.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhooks/deliveries/<str:delivery_id>/",
        views.WebhookDeliveryDetailView.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhooks/deliveries/<str:delivery_id>/resend/",
        views.WebhookDeliveryResendView.as_view(),
        name="webhook-delivery-resend",
    ),
    path("agent/sessions/", views.AgentSessionView.as_view(), name="agent-session"),
    path("agent/options/", views.AgentOptionsView.as_view(), name="agent-options"),
    path("agent/ice-servers/", views.AgentIceServersView.as_view(), name="agent-ice-servers"),
    path("agent/stop/", views.AgentStopView.as_view(), name="agent-stop"),
    path("agent/status/", views.AgentStatusView.as_view(), name="agent-status"),
    path("agent/id-card/", views.AgentIdCardView.as_view(), name="agent-id-card"),
]
