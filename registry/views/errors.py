"""How every page answers a service error.

Thin entry points: every patient is fetched through ``patient_get_for`` (other
centres answer 404), forms only parse, and every write goes through
``registry.services``. The service's ``ApplicationError`` is answered the same
way everywhere: not_found → 404, forbidden → 403, locked → 409 page, stale and
invalid → messages on the form next to the field.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core import permissions
from core.errors import ApplicationError, ErrorCode
from registry.models import Patient


def locked_response(request: HttpRequest, patient: Patient, message: str = "") -> HttpResponse:
    return render(
        request,
        "registry/locked.html",
        {
            "patient": patient,
            "message": message
            or _("Casebook %(study_id)s is locked and read-only.") % {"study_id": patient},
        },
        status=409,
    )


def raise_for(error: ApplicationError) -> None:
    """Turn codes that are not about the form into their HTTP answer."""
    if error.code == ErrorCode.NOT_FOUND:
        raise Http404(error.message)
    if error.code == ErrorCode.FORBIDDEN and not error.fields:
        raise PermissionDenied(error.message)


def attach(form, error: ApplicationError) -> None:
    """Put a service error on the form, next to the field it names."""
    if error.code == ErrorCode.STALE:
        form.stale = True
        form.add_error(None, error.message)
        return
    if not error.fields:
        form.add_error(None, error.message)
        return
    for name, msgs in error.fields.items():
        for msg in msgs:
            if name in form.fields:
                form.add_error(name, msg)
            elif name == "__all__":
                form.add_error(None, msg)
            else:
                field = capfirst(name.replace("_", " "))
                form.add_error(None, _("%(field)s: %(message)s") % {"field": field, "message": msg})


def form_error(
    request: HttpRequest, patient: Patient, form, error: ApplicationError
) -> HttpResponse | None:
    """A form's save failed: the 404/403/409 answer, or None once the error is on the form."""
    raise_for(error)
    if error.code == ErrorCode.LOCKED:
        return locked_response(request, patient, error.message)
    attach(form, error)
    return None


def workflow_error(
    request: HttpRequest, patient: Patient, error: ApplicationError
) -> HttpResponse | None:
    """A workflow step failed: the 404/403/409 answer, or None once its problems are messages."""
    raise_for(error)
    if error.code == ErrorCode.LOCKED:
        return locked_response(request, patient, error.message)
    problems = error.fields.get("__all__") or [error.message]
    messages.error(request, " • ".join(problems))
    return None


def require_editor(request: HttpRequest) -> None:
    if not permissions.can_edit_crf(request.user):
        raise PermissionDenied(
            _("Your role (%(role)s) may read but not change CRF data.")
            % {"role": request.user.get_role_display()}
        )
