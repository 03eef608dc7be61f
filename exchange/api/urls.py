"""Export and import routes under /api/v1/exports/ and /api/v1/imports/ (composed in
config/api_urls.py)."""

from django.urls import path

from exchange.api import imports, views

urlpatterns = [
    path("exports/", views.ExportCollectionView.as_view(), name="export-list"),
    path("exports/<int:export_id>/", views.ExportDetailView.as_view(), name="export-detail"),
    path(
        "exports/<int:export_id>/download/",
        views.ExportDownloadView.as_view(),
        name="export-download",
    ),
    path("imports/", imports.ImportCollectionView.as_view(), name="import-list"),
    path("imports/<int:import_id>/", imports.ImportDetailView.as_view(), name="import-detail"),
    path(
        "imports/<int:import_id>/commit/",
        imports.ImportCommitView.as_view(),
        name="import-commit",
    ),
]
