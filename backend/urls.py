"""Top-level URL routes. MEDIA_URL is deliberately not routed: evidence is served only through
signed API links and the staff-only admin view."""

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

handler404 = "proctoring.api.errors.not_found"
# The admin app is installed without autodiscovery (settings.INSTALLED_APPS): only the web loads it.
admin.autodiscover()

# The API docs pages: Swagger UI's script is its own file (the split view), but both UIs style
# themselves with inline styles and Redoc searches in a worker made from a blob.
API_DOCS_CSP = {"style-src": ["'self'", "'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("proctoring.api.urls")),
    # The browser SDK (autoproctor.js, its .d.ts) and the demo exam page.
    path("sdk/v1/", include("proctoring.sdk.urls")),
    # Read-only report pages for integrators' iframes (showReport, showResults).
    path("reports/", include("proctoring.reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        csp_update(API_DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        csp_update(API_DOCS_CSP)(
            SpectacularRedocView.as_view(url_name="schema", template_name="proctoring/redoc.html")
        ),
        name="api-redoc",
    ),
]
