from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("queries/", views.query_list, name="query_list"),
    path("queries/new/", views.query_new, name="query_new"),
    path("queries/<int:query_id>/", views.query_detail, name="query_detail"),
    path("verification/", views.verification_overview, name="verification"),
    path(
        "verification/<str:study_id>/verify/",
        views.verification_mark,
        name="verification_mark",
    ),
    path("rules/", views.rules_report, name="rules_report"),
]
