"""Top-level URL routes. MEDIA_URL is deliberately not routed: evidence is served only through
signed API links and the staff-only admin view."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

handler404 = "proctoring.api.errors.not_found"
# The admin app is installed without autodiscovery (settings.INSTALLED_APPS): only the web loads it.
admin.autodiscover()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("proctoring.api.urls")),
    # The browser SDK (autoproctor.js, its .d.ts) and the demo exam page.
    path("sdk/v1/", include("proctoring.sdk.urls")),
    # Read-only report pages for integrators' iframes (showReport, showResults).
    path("reports/", include("proctoring.reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
