"""Reads. ``patients_visible_to`` is the only road to patient rows.

Every page, API view, admin view and export starts from it, so the centre rule
lives in one place: site staff see their own centre, study-wide roles see all.
"""

from __future__ import annotations

import re

from django.db.models import QuerySet
from django.http import Http404

from core import permissions
from registry.models import Patient, User


def patients_visible_to(user: User) -> QuerySet[Patient]:
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    queryset = Patient.objects.select_related("center")
    if permissions.sees_all_centers(user):
        return queryset
    return queryset.filter(center_id=user.center_id)


# Study ids are generated as <centre code>-<sequence>; anything else cannot name a patient.
# Checking the shape first also keeps text PostgreSQL refuses (a NUL byte) out of the query.
STUDY_ID_SHAPE = re.compile(r"[A-Z]{2,8}-\d{4,}")


def patient_get_for(user: User, study_id: str) -> Patient:
    """The patient with ``study_id`` if ``user`` may see it; otherwise 404, as if absent."""
    if not STUDY_ID_SHAPE.fullmatch(study_id):
        raise Http404("No such patient.")
    try:
        return patients_visible_to(user).get(study_id=study_id)
    except Patient.DoesNotExist:
        raise Http404("No such patient.") from None
