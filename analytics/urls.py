from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status.json", views.run_status, name="status"),
    path("recompute/", views.recompute, name="recompute"),
    path("plan/", views.plan_edit, name="plan"),
    path("runs/<int:run_id>/bundle.json", views.run_bundle, name="run_bundle"),
    path("runs/<int:run_id>/final/", views.run_final, name="run_final"),
    path(
        "runs/<int:run_id>/figures/<str:language>/<str:name>.svg",
        views.run_figure,
        name="run_figure",
    ),
    path("runs/<int:run_id>/table1.csv", views.run_table1_csv, name="run_table1_csv"),
    path("runs/<int:run_id>/adverse-events.csv", views.run_ae_csv, name="run_ae_csv"),
]
