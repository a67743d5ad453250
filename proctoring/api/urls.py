"""API v1 routes."""

from django.urls import path

from proctoring.api import views

urlpatterns = [
    path("health/", views.HealthView.as_view(), name="health"),
    path("attempts/", views.AttemptCreateView.as_view(), name="attempt-create"),
    path(
        "attempts/<str:test_attempt_id>/", views.AttemptDetailView.as_view(), name="attempt-detail"
    ),
    path(
        "attempts/<str:test_attempt_id>/rescore/",
        views.AttemptRescoreView.as_view(),
        name="attempt-rescore",
    ),
    path("agent/sessions/", views.AgentSessionView.as_view(), name="agent-session"),
    path("agent/stop/", views.AgentStopView.as_view(), name="agent-stop"),
    path("agent/status/", views.AgentStatusView.as_view(), name="agent-status"),
]
