"""The registry's routes under /api/v1/ (composed in config/api_urls.py)."""

from django.urls import path

from registry.api import views

P = "patients/<str:study_id>/"

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("centers/", views.CenterListView.as_view(), name="center-list"),
    path("centers/<str:code>/", views.CenterDetailView.as_view(), name="center-detail"),
    path("patients/", views.PatientCollectionView.as_view(), name="patient-list"),
    path(P, views.PatientDetailView.as_view(), name="patient-detail"),
    path(P + "registration/", views.RegistrationView.as_view(), name="registration"),
    path(P + "complete/", views.CasebookCompleteView.as_view(), name="casebook-complete"),
    path(P + "lock/", views.CasebookLockView.as_view(), name="casebook-lock"),
    path(P + "unlock/", views.CasebookUnlockView.as_view(), name="casebook-unlock"),
    path(P + "history/", views.PatientHistoryView.as_view(), name="patient-history"),
    path(
        P + "adverse-events/none/",
        views.NoAdverseEventsView.as_view(),
        name="adverse-events-none",
    ),
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
