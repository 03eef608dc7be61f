"""Analysis routes under /api/v1/analysis/ (composed in config/api_urls.py)."""

from django.urls import path

from analytics.api import views

urlpatterns = [
    path("analysis/plan/", views.AnalysisPlanView.as_view(), name="analysis-plan"),
    path("analysis/runs/", views.AnalysisRunListView.as_view(), name="analysis-runs"),
    path("analysis/runs/<int:run_id>/", views.AnalysisRunDetailView.as_view(), name="analysis-run"),
    path(
        "analysis/runs/<int:run_id>/final/",
        views.AnalysisRunFinalView.as_view(),
        name="analysis-run-final",
    ),
    path("analysis/latest/", views.AnalysisLatestView.as_view(), name="analysis-latest"),
]
