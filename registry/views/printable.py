"""The printable casebook: one patient's casebook, signatures, audit trail and queries on
paper or PDF, for the site's archive and for inspectors. Each printed page carries the study,
the patient, the print date and "page n of m" (CSS @page margin boxes)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core import permissions
from core.context import study_titles
from registry import choices as c
from registry import selectors
from registry.casebook import load_casebook
from registry.models import Signature
from registry.presenters import derived_values, history_rows, record_rows, sections


def css_string(text: str) -> str:
    """``text`` as one CSS string literal: quotes, backslashes and line breaks escaped, and
    "<" as a CSS escape too, so the text can never end the string or a style element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
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


def _print_header(request: HttpRequest, patient) -> tuple[str, str]:
    """The running header: study and patient on the left, print date and user on the right."""
    left = f"{study_titles()['study_title']} · {patient.study_id}"
    right = _("Printed %(when)s UTC by %(user)s") % {
        "when": date_format(timezone.now(), "DATETIME_FORMAT"),
        "user": request.user.username,
    }
    return left, right


@login_required
def casebook_print(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = selectors.patient_get_for(request.user, study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    book = load_casebook(patient)
    enrolled = patient.enrolment_status == c.EnrolmentStatus.ENROLLED
    header_left, header_right = _print_header(request, patient)
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
            .select_related("signed_by", "void__voided_by")
            .order_by("signed_at"),
            "history": history,
            "header_left": header_left,
            "header_right": header_right,
            "done": done,
            "total": total,
        },
    )


@login_required
def casebook_print_css(request: HttpRequest, study_id: str) -> HttpResponse:
    """The printed pages' margin boxes for one patient, as a stylesheet of its own: the pages'
    CSP allows no inline <style>, and the header's text depends on the patient."""
    patient = selectors.patient_get_for(request.user, study_id)
    left, right = _print_header(request, patient)
    css = (
        f"@page {{\n  @top-left {{ content: {css_string(left)}; }}\n"
        f"  @top-right {{ content: {css_string(right)}; }}\n"
        f"  @bottom-right {{ content: {page_counter_css()}; }}\n}}\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    # It names the patient and the reader: never kept by a shared cache or the browser.
    response["Cache-Control"] = "no-store, private"
    return response
