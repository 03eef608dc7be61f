"""The history page: every field change with old → new and reason, and workflow events;
filtered by part and date range, and paged (a long casebook's history runs to thousands of
lines)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import permissions
from registry import selectors
from registry.forms import HistoryFilterForm
from registry.presenters import history_rows

HISTORY_PAGE_SIZE = 50


def filter_entries(entries: list, *, part: str, date_from, date_to) -> list:
    """Entries of one part (events that name it included) and within the dates, inclusive."""
    if part:
        entries = [e for e in entries if e.section == part]
    if date_from:
        entries = [e for e in entries if e.at.date() >= date_from]
    if date_to:
        entries = [e for e in entries if e.at.date() <= date_to]
    return entries


@login_required
def patient_history(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = selectors.patient_get_for(request.user, study_id)
    entries = selectors.patient_history(
        patient, identifiers=permissions.can_see_identifiers(request.user, patient)
    )
    filters = HistoryFilterForm(request.GET or None)
    if filters.is_valid():
        entries = filter_entries(
            entries,
            part=filters.cleaned_data["part"],
            date_from=filters.cleaned_data["date_from"],
            date_to=filters.cleaned_data["date_to"],
        )
    page = Paginator(history_rows(entries), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
    return render(
        request,
        "registry/history.html",
        {
            "patient": patient,
            "entries": page.object_list,
            "page": page,
            "filters": filters,
            "filtered": filters.is_bound,
            "querystring": query_without_page.urlencode(),
        },
    )
