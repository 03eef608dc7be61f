"""Query filters of the patient list (django-filter)."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from registry import choices as c
from registry.models import Patient


class PatientFilter(django_filters.FilterSet):
    center = django_filters.CharFilter(field_name="center__code", help_text="Centre code.")
    enrolment_status = django_filters.ChoiceFilter(choices=c.EnrolmentStatus.choices)
    casebook_status = django_filters.ChoiceFilter(choices=c.CasebookStatus.choices)
    # A choice, not a BooleanFilter: that one reads "null" or "maybe" as "no filter at all".
    # Typed for the schema: no model field is named "locked" (check --deploy warned).
    locked = extend_schema_field(OpenApiTypes.STR)(
        django_filters.TypedChoiceFilter(
            choices=[("true", "Locked casebooks only"), ("false", "Casebooks not locked")],
            coerce=lambda value: value == "true",
            method="filter_locked",
        )
    )
    registered_from = django_filters.DateFilter(
        field_name="registration_date", lookup_expr="gte", help_text="Registration date ≥."
    )
    registered_to = django_filters.DateFilter(
        field_name="registration_date", lookup_expr="lte", help_text="Registration date ≤."
    )
    search = django_filters.CharFilter(
        field_name="study_id", lookup_expr="icontains", help_text="Part of the study id."
    )

    class Meta:
        model = Patient
        fields: list[str] = []

    def filter_locked(self, queryset, name, value):
        if value:
            return queryset.filter(casebook_status=c.CasebookStatus.LOCKED)
        return queryset.exclude(casebook_status=c.CasebookStatus.LOCKED)
