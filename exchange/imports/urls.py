from django.urls import path

from exchange.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("template.xlsx", views.import_template, name="template"),
    path("<int:job_id>/", views.import_detail, name="detail"),
    path("<int:job_id>/commit/", views.import_commit, name="commit"),
]
