"""Data-cut routes under /api/v1/cuts/ (composed in config/api_urls.py)."""

from django.urls import path

from publication.api import views

urlpatterns = [
    path("cuts/", views.DataCutListView.as_view(), name="cuts"),
    path("cuts/<int:cut_id>/", views.DataCutDetailView.as_view(), name="cut"),
    path("cuts/<int:cut_id>/kit/", views.DataCutKitView.as_view(), name="cut-kit"),
]
