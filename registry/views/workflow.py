"""The casebook workflow: mark a part or the casebook complete, sign and lock, unlock."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import permissions
from core.errors import ApplicationError
from registry import choices as c
from registry import services
from registry.forms import SignForm, UnlockForm
from registry.models import Signature
from registry.presenters import section_slug
from registry.selectors import patient_get_for
from registry.views.errors import (
    attach,
    form_error,
    locked_response,
    raise_for,
    require_editor,
    workflow_error,
)


@login_required
@require_POST
def section_complete(request: HttpRequest, study_id: str, section: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    if patient.is_locked:
        return locked_response(request, patient)
    try:
        services.section_mark_complete(user=request.user, patient=patient, section=section)
    except ApplicationError as error:
        response = workflow_error(request, patient, error)
        if response is not None:
            return response
    else:
        messages.success(
            request, _("%(part)s marked complete.") % {"part": c.Section(section).label}
        )
    return redirect(reverse("registry:casebook", args=[study_id]) + f"#{section_slug(section)}")


@login_required
@require_POST
def adverse_events_none(request: HttpRequest, study_id: str) -> HttpResponse:
    """Confirm (``confirmed=1``) or withdraw (``confirmed=0``) that no adverse event occurred."""
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    if patient.is_locked:
        return locked_response(request, patient)
    confirmed = request.POST.get("confirmed") == "1"
    reason = request.POST.get("reason", "").strip()
    try:
        services.adverse_events_none_confirm(
            user=request.user, patient=patient, confirmed=confirmed, reason=reason
        )
    except ApplicationError as error:
        response = workflow_error(request, patient, error)
        if response is not None:
            return response
    else:
        if confirmed:
            messages.success(request, _("Confirmed: no adverse events occurred."))
        else:
            messages.success(
                request, _("The confirmation that no adverse events occurred was withdrawn.")
            )
    anchor = f"#{section_slug(c.Section.ADVERSE_EVENTS)}"
    return redirect(reverse("registry:casebook", args=[study_id]) + anchor)


@login_required
@require_POST
def casebook_complete(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    require_editor(request)
    if patient.is_locked:
        return locked_response(request, patient)
    try:
        services.casebook_mark_complete(user=request.user, patient=patient)
    except ApplicationError as error:
        response = workflow_error(request, patient, error)
        if response is not None:
            return response
    else:
        messages.success(
            request,
            _("Casebook %(study_id)s is complete and ready to sign.") % {"study_id": patient},
        )
    return redirect("registry:casebook", study_id=study_id)


@login_required
def casebook_sign(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    if not permissions.can_lock(request.user):
        raise PermissionDenied(
            _("Only a site investigator or a data manager may sign and lock a casebook.")
        )
    if patient.is_locked:
        if request.method == "POST":
            return locked_response(
                request,
                patient,
                _("Casebook %(study_id)s is already locked.") % {"study_id": patient},
            )
        messages.info(
            request,
            _("Casebook %(study_id)s is already signed and locked.") % {"study_id": patient},
        )
        return redirect("registry:casebook", study_id=study_id)
    # The statement is shown and signed in the reader's language; the service accepts it in
    # any of the registry's languages and stores the words that were signed.
    statement = services.signature_statement()
    form = SignForm(request.POST or None, initial={"meaning": statement})
    if request.method == "POST" and form.is_valid():
        try:
            services.casebook_lock(
                user=request.user,
                patient=patient,
                password=form.cleaned_data["password"],
                meaning=form.cleaned_data["meaning"],
            )
        except ApplicationError as error:
            response = form_error(request, patient, form, error)
            if response is not None:
                return response
        else:
            messages.success(
                request, _("Casebook %(study_id)s signed and locked.") % {"study_id": patient}
            )
            return redirect("registry:casebook", study_id=study_id)
    return render(
        request,
        "registry/sign.html",
        {"patient": patient, "form": form, "statement": statement},
    )


@login_required
def casebook_unlock(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    if not permissions.can_unlock(request.user):
        raise PermissionDenied(_("Only a data manager may unlock a casebook."))
    if not patient.is_locked:
        messages.info(request, _("Casebook %(study_id)s is not locked.") % {"study_id": patient})
        return redirect("registry:casebook", study_id=study_id)
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.casebook_unlock(
                user=request.user, patient=patient, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            raise_for(error)
            attach(form, error)
        else:
            messages.success(
                request,
                _("Casebook %(study_id)s unlocked; its signature is void.") % {"study_id": patient},
            )
            return redirect("registry:casebook", study_id=study_id)
    signature = Signature.objects.filter(patient=patient).valid().first()
    return render(
        request,
        "registry/unlock.html",
        {"patient": patient, "form": form, "signature": signature},
    )
