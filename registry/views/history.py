"""The history page: every field change with old → new and reason, and workflow events."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import permissions
from registry import selectors
from registry.presenters import history_rows


@login_required
def patient_history(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = selectors.patient_get_for(request.user, study_id)
    entries = selectors.patient_history(
        patient, identifiers=permissions.can_see_identifiers(request.user, patient)
    )
    return render(
        request,
        "registry/history.html",
        {"patient": patient, "entries": history_rows(entries)},
    )
