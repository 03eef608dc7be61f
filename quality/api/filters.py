"""Query filters of the query list (django-filter)."""

from __future__ import annotations

import django_filters

from quality.models import Query, QueryStatus


class QueryFilter(django_filters.FilterSet):
    patient = django_filters.CharFilter(
        field_name="patient__study_id", help_text="Study id, e.g. BJ-0042."
    )
    status = django_filters.ChoiceFilter(choices=QueryStatus.choices)
    center = django_filters.CharFilter(field_name="patient__center__code", help_text="Centre code.")

    class Meta:
        model = Query
        fields: list[str] = []
