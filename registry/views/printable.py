"""The printable casebook: one patient's casebook, signatures, audit trail and queries on
paper or PDF, for the site's archive and for inspectors. Each printed page carries the study,
the patient, the print date and "page n of m" (CSS @page margin boxes)."""

from __future__ import annotations

from csp.constants import NONCE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from core import permissions
from registry import choices as c
from registry import selectors
from registry.casebook import load_casebook
from registry.models import Signature
from registry.presenters import derived_values, history_rows, record_rows, sections


def css_string(text: str) -> str:
    """``text`` as a CSS string literal, safe inside a <style> element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    # "<" as a CSS escape: no "</style>" can close the element early.
    return '"' + escaped.replace("<", "\\3c ") + '"'


def page_counter_css() -> str:
    """'Page n of m' in the reader's language, with the page counters in place of n and m."""
    text = _("Page {page} of {pages}")
    before, rest = text.split("{page}", 1)
    middle, after = rest.split("{pages}", 1)
    return (
        f"{css_string(before)} counter(page) {css_string(middle)} "
        f"counter(pages) {css_string(after)}"
    )


@login_required
# The page header's text depends on the patient: one inline <style> carrying the request's nonce.
@csp_update({"style-src": [NONCE]})
def casebook_print(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = selectors.patient_get_for(request.user, study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    book = load_casebook(patient)
    enrolled = patient.enrolment_status == c.EnrolmentStatus.ENROLLED
    printed_at = timezone.now()
    header_left = f"{settings.STUDY_TITLE} · {patient.study_id}"
    header_right = _("Printed %(when)s UTC by %(user)s") % {
        "when": printed_at.strftime("%Y-%m-%d %H:%M"),
        "user": request.user.username,
    }
    page_css = (
        f"@page {{ @top-left {{ content: {css_string(header_left)}; }} "
        f"@top-right {{ content: {css_string(header_right)}; }} "
        f"@bottom-right {{ content: {page_counter_css()}; }} }}"
    )
    history = history_rows(selectors.patient_history(patient, identifiers=sees_identifiers))
    done, total = book.completeness()
    return render(
        request,
        "registry/casebook_print.html",
        {
            "patient": patient,
            "enrolled": enrolled,
            "sections": sections(book, sees_identifiers) if enrolled else [],
            "registration_rows": record_rows(patient, sees_identifiers),
            "derived": derived_values(book) if enrolled else [],
            "signatures": Signature.objects.filter(patient=patient)
            .select_related("signed_by", "voided_by")
            .order_by("signed_at"),
            "history": history,
            "printed_at": printed_at,
            "page_css": mark_safe(page_css),  # noqa: S308 - every text in it went through css_string
            "header_left": header_left,
            "header_right": header_right,
            "done": done,
            "total": total,
        },
    )
