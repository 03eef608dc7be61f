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
    path("start/", views.start, name="start"),
    path("my-work/", views.my_work, name="my_work"),
    path("notifications/", views.notification_list, name="notification_list"),
    path(
        "notifications/preferences/",
        views.notification_preferences,
        name="notification_preferences",
    ),
]
