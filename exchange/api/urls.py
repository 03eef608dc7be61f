"""Export routes under /api/v1/exports/ (composed in config/api_urls.py)."""

from django.urls import path

from exchange.api import views

urlpatterns = [
    path("exports/", views.ExportCollectionView.as_view(), name="export-list"),
    path("exports/<int:export_id>/", views.ExportDetailView.as_view(), name="export-detail"),
    path(
        "exports/<int:export_id>/download/",
        views.ExportDownloadView.as_view(),
        name="export-download",
    ),
]
