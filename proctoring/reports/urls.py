"""Report pages (issue #19), under /reports/."""

from django.urls import path

from proctoring.reports import views

urlpatterns = [
    path("attempt/<str:token>/", views.report_page, name="report-page"),
    path("results/", views.ResultsPageView.as_view(), name="results-page"),
]
