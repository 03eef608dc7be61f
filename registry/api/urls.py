"""/api/v1/ routes (see docs/api.md)."""

from django.urls import path

from registry.api import views, views_analysis, views_exports

app_name = "api"

P = "patients/<str:study_id>/"

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("centers/", views.CenterListView.as_view(), name="center-list"),
    path("centers/<str:code>/", views.CenterDetailView.as_view(), name="center-detail"),
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("tokens/", views.TokenListView.as_view(), name="token-list"),
    path("tokens/<int:token_id>/", views.TokenDetailView.as_view(), name="token-detail"),
    path("analysis/plan/", views_analysis.AnalysisPlanView.as_view(), name="analysis-plan"),
    path("analysis/runs/", views_analysis.AnalysisRunListView.as_view(), name="analysis-runs"),
    path(
        "analysis/runs/<int:run_id>/",
        views_analysis.AnalysisRunDetailView.as_view(),
        name="analysis-run",
    ),
    path("analysis/latest/", views_analysis.AnalysisLatestView.as_view(), name="analysis-latest"),
    path("exports/", views_exports.ExportCollectionView.as_view(), name="export-list"),
    path(
        "exports/<int:export_id>/", views_exports.ExportDetailView.as_view(), name="export-detail"
    ),
    path(
        "exports/<int:export_id>/download/",
        views_exports.ExportDownloadView.as_view(),
        name="export-download",
    ),
    path("patients/", views.PatientCollectionView.as_view(), name="patient-list"),
    path(P, views.PatientDetailView.as_view(), name="patient-detail"),
    path(P + "registration/", views.RegistrationView.as_view(), name="registration"),
    path(P + "complete/", views.CasebookCompleteView.as_view(), name="casebook-complete"),
    path(P + "lock/", views.CasebookLockView.as_view(), name="casebook-lock"),
    path(P + "unlock/", views.CasebookUnlockView.as_view(), name="casebook-unlock"),
    path(P + "history/", views.PatientHistoryView.as_view(), name="patient-history"),
    path(
        P + "sections/<str:section>/complete/",
        views.SectionCompleteView.as_view(),
        name="section-complete",
    ),
]

for slug in views.SINGLE_PARTS:
    urlpatterns.append(path(P + f"{slug}/", views.PART_VIEWS[slug]["single"].as_view(), name=slug))
for slug in views.REPEATING_PARTS:
    urlpatterns += [
        path(P + f"{slug}/", views.PART_VIEWS[slug]["list"].as_view(), name=f"{slug}-list"),
        path(
            P + f"{slug}/<int:record_id>/",
            views.PART_VIEWS[slug]["item"].as_view(),
            name=f"{slug}-detail",
        ),
    ]
