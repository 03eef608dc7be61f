from django.urls import path, register_converter

from registry import choices as c
from registry.models import REPEATING_SECTIONS
from registry.presenters import section_slug
from registry.views import casebook, history, parts, patients, printable, workflow


class _SectionConverter:
    """Parts of the casebook in URLs, hyphenated ('first-line') and checked against a list."""

    sections: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.regex = "|".join(section_slug(s) for s in cls.sections)

    def to_python(self, value: str) -> str:
        return value.replace("-", "_")

    def to_url(self, value: str) -> str:
        return section_slug(value)


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
    path("", patients.patient_list, name="patient_list"),
    path("patients/register/", patients.patient_register, name="patient_register"),
    path("patients/<str:study_id>/", casebook.casebook, name="casebook"),
    path("patients/<str:study_id>/history/", history.patient_history, name="history"),
    path("patients/<str:study_id>/print/", printable.casebook_print, name="casebook_print"),
    path(
        "patients/<str:study_id>/print/page.css",
        printable.casebook_print_css,
        name="casebook_print_css",
    ),
    path("patients/<str:study_id>/complete/", workflow.casebook_complete, name="casebook_complete"),
    path("patients/<str:study_id>/sign/", workflow.casebook_sign, name="sign"),
    path(
        "patients/<str:study_id>/adverse-events/none/",
        workflow.adverse_events_none,
        name="adverse_events_none",
    ),
    path("patients/<str:study_id>/unlock/", workflow.casebook_unlock, name="unlock"),
    path(
        "patients/<str:study_id>/<section:section>/complete/",
        workflow.section_complete,
        name="section_complete",
    ),
    path("patients/<str:study_id>/<part:section>/", parts.part_edit, name="part_edit"),
    path("patients/<str:study_id>/<rows:section>/add/", parts.row_add, name="row_add"),
    path(
        "patients/<str:study_id>/<rows:section>/<int:record_id>/",
        parts.row_edit,
        name="row_edit",
    ),
    path(
        "patients/<str:study_id>/<rows:section>/<int:record_id>/delete/",
        parts.row_delete,
        name="row_delete",
    ),
]
