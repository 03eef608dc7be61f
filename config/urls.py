from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from config.health import healthz
from core.api import pages as api_pages
from core.api import views as api_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", api_pages.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("exports/", include("exchange.urls")),
    path("analytics/", include("analytics.urls")),
    path("quality/", include("quality.urls")),
    path("profile/tokens/", api_pages.token_page, name="api-tokens"),
    path("api/v1/", include("config.api_urls")),
    # The schema names internal fields and roles: readable after signing in only.
    path("api/schema/", api_views.SchemaView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        login_required(SpectacularRedocView.as_view(url_name="api-schema")),
        name="api-redoc",
    ),
    path("", include("registry.urls")),
]

# JSON errors in the API's one shape for /api/ paths; the usual pages elsewhere.
handler400 = "core.api.errors.json_handler400"
handler403 = "core.api.errors.json_handler403"
handler404 = "core.api.errors.json_handler404"
handler500 = "core.api.errors.json_handler500"
