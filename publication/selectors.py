"""Reads of data cuts: who may see which. A cut holds the whole study's analysis, so it is
visible to the dashboard's readers and to nobody else (site staff see none)."""

from __future__ import annotations

from django.db.models import QuerySet

from core import permissions
from publication.models import DataCut

# The list never needs the frozen tables or the bundle; the detail reads them on demand.
_HEAVY = ("patients_csv", "adverse_events_csv", "bundle", "plan", "locked_patients")


def cuts_visible_to(user) -> QuerySet[DataCut]:
    if not permissions.can_use_data_cuts(user):
        return DataCut.objects.none()
    return DataCut.objects.select_related("created_by")


def cut_list(user) -> QuerySet[DataCut]:
    return cuts_visible_to(user).defer(*_HEAVY)


def cut_get(user, cut_id: int) -> DataCut | None:
    return cuts_visible_to(user).filter(pk=cut_id).first()


def cut_by_name(user, name: str) -> DataCut | None:
    return cuts_visible_to(user).filter(name__iexact=name.strip()).first()
