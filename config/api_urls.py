"""/api/v1/: every app's API routes under the one "api" namespace (see docs/api.md)."""

from analytics.api import urls as analytics_api
from core.api import urls as core_api
from exchange.api import urls as exchange_api
from publication.api import urls as publication_api
from quality.api import urls as quality_api
from registry.api import urls as registry_api

app_name = "api"

urlpatterns = [
    *core_api.urlpatterns,
    *registry_api.urlpatterns,
    *quality_api.urlpatterns,
    *analytics_api.urlpatterns,
    *exchange_api.urlpatterns,
    *publication_api.urlpatterns,
]
