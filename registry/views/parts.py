"""CRF forms: edit a single-record part, and add, edit or delete a row of a repeating part."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core import permissions
from core.errors import ApplicationError
from registry import choices as c
from registry import services
from registry.forms import FORM_BY_SECTION, DeleteForm
from registry.models import (
    MODEL_BY_SECTION,
    REPEATING_SECTIONS,
    Patient,
    SecondLineTherapy,
    SectionCompletion,
)
from registry.presenters import record_rows, section_slug
from registry.selectors import patient_get_for
from registry.views.errors import form_error, locked_response, require_editor


def _locked_message(patient: Patient) -> str:
    return _("Casebook %(study_id)s is locked and read-only.") % {"study_id": patient.study_id}


def _refuse_screen_failure(request: HttpRequest, patient: Patient) -> HttpResponse | None:
    """A screen failure has no casebook: say so before the form, not after it is filled."""
    if patient.enrolment_status == c.EnrolmentStatus.ENROLLED:
        return None
    messages.error(
        request,
        _("%(study_id)s is a screen failure (%(reason)s): it has no casebook to fill.")
        % {"study_id": patient.study_id, "reason": patient.screen_failure_reason},
    )
    return redirect("registry:casebook", study_id=patient.study_id)


def _crf_form_page(
    request: HttpRequest,
    patient: Patient,
    section: str,
    record,
) -> HttpResponse:
    """GET shows the form of one record; POST parses it and saves through the service."""
    refused = _refuse_screen_failure(request, patient)
    if refused is not None:
        return refused
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    repeating = section in REPEATING_SECTIONS
    completed = SectionCompletion.objects.filter(patient=patient, section=section).exists()
    reason_required = completed and (record is not None or repeating)
    form_class = FORM_BY_SECTION[section]
    model = MODEL_BY_SECTION[section]
    # The form parses into its own instance, so the page never shows half-applied values.
    instance = record if record is not None else model(patient=patient)
    kwargs: dict[str, Any] = {"reason_required": reason_required}
    if section == c.Section.REGISTRATION:
        kwargs.update(sees_identifiers=sees_identifiers, choose_center=False)
    elif section in (c.Section.BASELINE, c.Section.ADVERSE_EVENTS):
        kwargs["sees_identifiers"] = sees_identifiers
    elif section == c.Section.ASSESSMENTS:
        kwargs["patient"] = patient
        if record is None:
            # Once second line has started, new assessments are nearly always 2L ones.
            started = SecondLineTherapy.objects.filter(patient=patient).exists()
            kwargs["initial"] = {
                "line": c.TreatmentLine.SECOND if started else c.TreatmentLine.FIRST
            }
    form = form_class(request.POST or None, instance=instance, **kwargs)
    form.stale = False
    if request.method == "POST":
        if patient.is_locked:
            return locked_response(request, patient)
        if form.is_valid():
            try:
                services.crf_record_save(
                    user=request.user,
                    patient=patient,
                    section=section,
                    data=form.service_data(),
                    record_id=record.pk if record is not None and repeating else None,
                    expected_version=form.cleaned_data.get("version"),
                    reason=form.cleaned_data.get("reason", ""),
                )
            except ApplicationError as error:
                response = form_error(request, patient, form, error)
                if response is not None:
                    return response
            except IntegrityError:
                # A database constraint the form could not see (a concurrent duplicate).
                form.add_error(None, _("This conflicts with a record saved meanwhile; reload."))
            else:
                label = c.Section(section).label
                messages.success(request, _("%(part)s saved.") % {"part": label})
                anchor = f"#{section_slug(section)}"
                if repeating and "save_add" in request.POST:
                    return redirect("registry:row_add", study_id=patient.study_id, section=section)
                return redirect(reverse("registry:casebook", args=[patient.study_id]) + anchor)
    elif patient.is_locked:
        messages.error(request, _locked_message(patient))
        return redirect("registry:casebook", study_id=patient.study_id)
    title = c.Section(section).label
    if repeating and record is not None:
        title = _("Edit: %(record)s") % {"record": model._meta.verbose_name}
    elif repeating:
        title = _("Add: %(record)s") % {"record": model._meta.verbose_name}
    return render(
        request,
        "registry/crf_form.html",
        {
            "patient": patient,
            "form": form,
            "section": section,
            "section_label": c.Section(section).label,
            "slug": section_slug(section),
            "title": capfirst(title),
            "repeating": repeating,
            "record": record,
        },
    )


@login_required
def part_edit(request: HttpRequest, study_id: str, section: str) -> HttpResponse:
    """Registration, baseline, first line, second line: one record each."""
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    if section == c.Section.REGISTRATION:
        if patient.enrolment_status != c.EnrolmentStatus.ENROLLED:
            messages.error(request, _("A screen failure's registration is final."))
            return redirect("registry:casebook", study_id=patient.study_id)
        record = patient
    else:
        record = MODEL_BY_SECTION[section].objects.filter(patient=patient).first()
    return _crf_form_page(request, patient, section, record)


@login_required
def row_add(request: HttpRequest, study_id: str, section: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    return _crf_form_page(request, patient, section, None)


@login_required
def row_edit(request: HttpRequest, study_id: str, section: str, record_id: int) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    record = get_object_or_404(MODEL_BY_SECTION[section], pk=record_id, patient=patient)
    return _crf_form_page(request, patient, section, record)


@login_required
def row_delete(request: HttpRequest, study_id: str, section: str, record_id: int) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    refused = _refuse_screen_failure(request, patient)
    if refused is not None:
        return refused
    model = MODEL_BY_SECTION[section]
    record = get_object_or_404(model, pk=record_id, patient=patient)
    form = DeleteForm(request.POST or None, initial={"version": record.version})
    if request.method == "POST":
        if patient.is_locked:
            return locked_response(request, patient)
        if form.is_valid():
            try:
                services.crf_record_delete(
                    user=request.user,
                    patient=patient,
                    section=section,
                    record_id=record.pk,
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as error:
                response = form_error(request, patient, form, error)
                if response is not None:
                    return response
            else:
                messages.success(request, _("Deleted: %(record)s.") % {"record": record})
                return redirect(
                    reverse("registry:casebook", args=[patient.study_id])
                    + f"#{section_slug(section)}"
                )
    elif patient.is_locked:
        messages.error(request, _locked_message(patient))
        return redirect("registry:casebook", study_id=patient.study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    return render(
        request,
        "registry/delete.html",
        {
            "patient": patient,
            "record": record,
            "rows": record_rows(record, sees_identifiers),
            "form": form,
            "slug": section_slug(section),
            "verbose_name": model._meta.verbose_name,
        },
    )
