from django.urls import path, register_converter

from registry import choices as c
from registry import views
from registry.models import REPEATING_SECTIONS


class _SectionConverter:
    """Parts of the casebook in URLs, hyphenated ('first-line') and checked against a list."""

    sections: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.regex = "|".join(views.section_slug(s) for s in cls.sections)

    def to_python(self, value: str) -> str:
        return value.replace("-", "_")

    def to_url(self, value: str) -> str:
        return views.section_slug(value)


class AnySection(_SectionConverter):
    sections = tuple(c.Section.values)


class SinglePart(_SectionConverter):
    sections = tuple(s for s in c.Section.values if s not in REPEATING_SECTIONS)


class RepeatingPart(_SectionConverter):
    sections = tuple(s for s in c.Section.values if s in REPEATING_SECTIONS)


register_converter(AnySection, "section")
register_converter(SinglePart, "part")
register_converter(RepeatingPart, "rows")

app_name = "registry"

urlpatterns = [
    path("", views.patient_list, name="patient_list"),
    path("patients/register/", views.patient_register, name="patient_register"),
    path("patients/<str:study_id>/", views.casebook, name="casebook"),
    path("patients/<str:study_id>/history/", views.patient_history, name="history"),
    path("patients/<str:study_id>/complete/", views.casebook_complete, name="casebook_complete"),
    path("patients/<str:study_id>/sign/", views.casebook_sign, name="sign"),
    path("patients/<str:study_id>/unlock/", views.casebook_unlock, name="unlock"),
    path(
        "patients/<str:study_id>/<section:section>/complete/",
        views.section_complete,
        name="section_complete",
    ),
    path("patients/<str:study_id>/<part:section>/", views.part_edit, name="part_edit"),
    path("patients/<str:study_id>/<rows:section>/add/", views.row_add, name="row_add"),
    path(
        "patients/<str:study_id>/<rows:section>/<int:record_id>/",
        views.row_edit,
        name="row_edit",
    ),
    path(
        "patients/<str:study_id>/<rows:section>/<int:record_id>/delete/",
        views.row_delete,
        name="row_delete",
    ),
]
