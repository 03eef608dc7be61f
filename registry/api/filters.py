"""Query filters of the patient list (django-filter)."""

from __future__ import annotations

import django_filters
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from registry import choices as c
from registry.models import Patient


class PatientFilter(django_filters.FilterSet):
    center = django_filters.CharFilter(field_name="center__code", help_text="Centre code.")
    enrolment_status = django_filters.ChoiceFilter(choices=c.EnrolmentStatus.choices)
    casebook_status = django_filters.ChoiceFilter(choices=c.CasebookStatus.choices)
    # A choice, not a BooleanFilter: that one reads "null" or "maybe" as "no filter at all".
    locked = django_filters.TypedChoiceFilter(
        choices=[("true", "Locked casebooks only"), ("false", "Casebooks not locked")],
        coerce=lambda value: value == "true",
        method="filter_locked",
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


class PatientCursorPagination(CursorPagination):
    # Newest registrations first; the primary key is unique and never changes, so a cursor
    # stays valid while patients are added, and the page query is an index scan at any size.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        # DRF falls back to the default on a bad value; a client asking for "abc" rows has a
        # bug, and one asking for 1000 would silently get 200: both are told instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"A whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: [message]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = f"Rows per page (default {self.page_size})."
        return parameters
