"""Query routes under /api/v1/queries/ and a casebook's source verifications under
/api/v1/patients/<study_id>/verifications/ (composed in config/api_urls.py)."""

from django.urls import path

from quality.api import views

Q = "queries/<int:query_id>/"

urlpatterns = [
    path("queries/", views.QueryCollectionView.as_view(), name="query-list"),
    path(Q, views.QueryDetailView.as_view(), name="query-detail"),
    path(Q + "messages/", views.QueryAnswerView.as_view(), name="query-messages"),
    path(Q + "close/", views.QueryCloseView.as_view(), name="query-close"),
    path(Q + "reopen/", views.QueryReopenView.as_view(), name="query-reopen"),
    path("my-work/", views.MyWorkView.as_view(), name="my-work"),
    path(
        "patients/<str:study_id>/verifications/",
        views.VerificationCollectionView.as_view(),
        name="patient-verifications",
    ),
]
