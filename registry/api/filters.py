"""Query filters of the patient list (django-filter)."""

from __future__ import annotations

import django_filters
from rest_framework.pagination import CursorPagination

from registry import choices as c
from registry.models import Patient


class PatientFilter(django_filters.FilterSet):
    center = django_filters.CharFilter(field_name="center__code", help_text="Centre code.")
    enrolment_status = django_filters.ChoiceFilter(choices=c.EnrolmentStatus.choices)
    casebook_status = django_filters.ChoiceFilter(choices=c.CasebookStatus.choices)
    locked = django_filters.BooleanFilter(method="filter_locked", help_text="Locked or not.")
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
