"""The casebook page: every part of one patient, derived values, and what the reader may do."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import permissions
from registry import choices as c
from registry.casebook import load_casebook
from registry.models import AuditEvent, Signature
from registry.presenters import derived_values, record_rows, sections
from registry.selectors import patient_get_for


@login_required
def casebook(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    book = load_casebook(patient)
    signature = (
        Signature.objects.filter(patient=patient).valid().select_related("signed_by").first()
    )
    done, total = book.completeness()
    # Every part complete yet the casebook "in progress": say why (a change after completion).
    reopened = None
    if patient.casebook_status == c.CasebookStatus.IN_PROGRESS and done == total:
        reopened = (
            AuditEvent.objects.filter(patient=patient, action=AuditEvent.Action.CASEBOOK_REOPENED)
            .select_related("user")
            .first()
        )
    user = request.user
    can_edit = permissions.can_edit_crf(user) and not patient.is_locked
    enrolled = patient.enrolment_status == c.EnrolmentStatus.ENROLLED
    return render(
        request,
        "registry/casebook.html",
        {
            "patient": patient,
            "book": book,
            "sections": sections(book, sees_identifiers) if enrolled else [],
            "registration_rows": record_rows(patient, sees_identifiers),
            "derived": derived_values(book) if enrolled else [],
            "sees_identifiers": sees_identifiers,
            "can_edit": can_edit and enrolled,
            "can_complete": can_edit
            and enrolled
            and patient.casebook_status == c.CasebookStatus.IN_PROGRESS,
            "can_sign": permissions.can_lock(user)
            and patient.casebook_status == c.CasebookStatus.COMPLETE,
            "can_unlock": permissions.can_unlock(user) and patient.is_locked,
            "signature": signature,
            "done": done,
            "total": total,
            "all_parts_complete": done == total,
            "reopened": reopened,
            "reopened_part": c.Section(reopened.detail["section"]).label
            if reopened and reopened.detail.get("section") in c.Section.values
            else "",
            "enrolled": enrolled,
        },
    )
