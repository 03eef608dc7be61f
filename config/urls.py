from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from config.health import healthz
from core.language import language_switch
from core.api import pages as api_pages
from core.api import views as api_views
from registry.views import audit as registry_audit

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", api_pages.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", language_switch, name="language-switch"),
    path("account/", include("core.security.urls")),  # security: 2FA, password change
    # security: the study-wide audit trail for inspectors (not a patient page of registry:)
    path("audit/", registry_audit.audit_trail, name="audit-trail"),
    path("audit/export/", registry_audit.audit_export, name="audit-export"),
    path("admin/", admin.site.urls),
    path("exports/", include("exchange.urls")),
    path("imports/", include("exchange.imports.urls")),
    path("publication/", include("publication.urls")),
    path("analytics/", include("analytics.urls")),
    path("quality/", include("quality.urls")),
    path("profile/tokens/", api_pages.token_page, name="api-tokens"),
    path("api/v1/", include("config.api_urls")),
    # The schema names internal fields and roles: readable after signing in only.
    path("api/schema/", api_views.SchemaView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file: no inline script for the CSP.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        # ReDoc injects its styles at run time: this page alone allows inline styles.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            login_required(SpectacularRedocView.as_view(url_name="api-schema"))
        ),
        name="api-redoc",
    ),
    path("", include("registry.urls")),
]

# JSON errors in the API's one shape for /api/ paths; the usual pages elsewhere.
handler400 = "core.api.errors.json_handler400"
handler403 = "core.api.errors.json_handler403"
handler404 = "core.api.errors.json_handler404"
handler500 = "core.api.errors.json_handler500"
