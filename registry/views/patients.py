"""The patient list (search, filter, page) and registering a screened patient."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core import permissions
from core.errors import ApplicationError
from registry import choices as c
from registry import services
from registry.forms import PatientSearchForm, RegistrationForm
from registry.models import Center, Patient
from registry.selectors import patients_visible_to
from registry.views.errors import attach, raise_for, require_editor

PAGE_SIZE = 25

# The list's sortable columns: the key in ?sort= (with "-" for descending) and its ordering.
# Ties end on centre and sequence so every order is total and paging never repeats a row.
SORTS: dict[str, tuple[str, ...]] = {
    "study_id": ("center__code", "sequence"),
    "registered": ("registration_date",),
    "status": ("enrolment_status", "casebook_status"),
    "completeness": ("parts_complete",),
    "updated": ("updated_at",),
}
DEFAULT_SORT = "study_id"


def sort_order(sort: str) -> tuple[str, list[str]]:
    """The sort key actually used (an unknown one falls back to the study id) and its fields."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        return DEFAULT_SORT, [*SORTS[DEFAULT_SORT]]
    fields = [*SORTS[key], "center__code", "sequence"]
    return sort, [f"-{f}" for f in fields] if descending else fields


def sort_headers(request: HttpRequest, current: str) -> dict[str, dict]:
    """For each sortable column: the link that sorts by it and its aria-sort state."""
    headers = {}
    for key in SORTS:
        params = request.GET.copy()
        params.pop("page", None)
        if current == key:
            state, params["sort"] = "ascending", f"-{key}"
        elif current == f"-{key}":
            state, params["sort"] = "descending", key
        else:
            state, params["sort"] = "none", key
        headers[key] = {"url": "?" + params.urlencode(), "aria_sort": state}
    return headers


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    several_centres = permissions.sees_all_centers(user)
    search = PatientSearchForm(
        request.GET or None,
        centers=Center.objects.order_by("code") if several_centres else None,
    )
    # All of a site user's patients are their own centre's; admins see every identifier.
    may_search_identifiers = permissions.sees_identifiers_in_lists(user)
    patients = patients_visible_to(user).annotate(
        parts_complete=Count("completions", distinct=True)
    )
    sort = DEFAULT_SORT
    if search.is_valid():
        query = search.cleaned_data["q"].strip()
        if query:
            condition = Q(study_id__icontains=query)
            if may_search_identifiers:
                # Part of an MRN is enough (the scoping above keeps site staff to their centre).
                condition |= Q(mrn__icontains=query) | Q(initials__iexact=query)
            patients = patients.filter(condition)
        status = search.cleaned_data["status"]
        if status in c.EnrolmentStatus.values:
            patients = patients.filter(enrolment_status=status)
        elif status in c.CasebookStatus.values:
            patients = patients.filter(
                enrolment_status=c.EnrolmentStatus.ENROLLED, casebook_status=status
            )
        if search.cleaned_data.get("center"):
            patients = patients.filter(center=search.cleaned_data["center"])
        sort = search.cleaned_data["sort"] or DEFAULT_SORT
    sort, ordering = sort_order(sort)
    page = Paginator(patients.select_related("center").order_by(*ordering), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
    filtered = any(request.GET.get(name) for name in ("q", "status", "center"))
    return render(
        request,
        "registry/patient_list.html",
        {
            "page": page,
            "search": search,
            "show_identifiers": may_search_identifiers,
            "parts_total": len(c.Section.values),
            "querystring": query_without_page.urlencode(),
            "can_register": permissions.can_edit_crf(user),
            "sort_headers": sort_headers(request, sort),
            "filtered": filtered,
        },
    )


@login_required
def patient_register(request: HttpRequest) -> HttpResponse:
    user = request.user
    require_editor(request)
    choose_center = not permissions.is_site_staff(user)
    form = RegistrationForm(
        request.POST or None,
        sees_identifiers=True,
        choose_center=choose_center,
        initial={"registration_date": date.today()},
    )
    if request.method == "POST" and form.is_valid():
        # A failed criterion makes the registration a final screen failure: the user confirms
        # it on a second submit of the same answers, so a slip of one radio is not final.
        screen_failure = Patient(**form.service_data()).failed_criterion()
        confirmed = request.POST.get("confirm_screen_failure") == "1"
        if screen_failure and not confirmed:
            return render(
                request, "registry/register.html", {"form": form, "screen_failure": screen_failure}
            )
        try:
            patient = services.patient_register(
                user=user,
                center=form.cleaned_data.get("center") if choose_center else None,
                data=form.service_data(),
            )
        except ApplicationError as error:
            raise_for(error)
            attach(form, error)
        else:
            if patient.enrolment_status == c.EnrolmentStatus.SCREEN_FAILURE:
                messages.warning(
                    request,
                    _("%(study_id)s is recorded as a screen failure: %(reason)s.")
                    % {"study_id": patient.study_id, "reason": patient.screen_failure_reason},
                )
            else:
                messages.success(
                    request,
                    _("%(study_id)s registered and enrolled.") % {"study_id": patient.study_id},
                )
            return redirect("registry:casebook", study_id=patient.study_id)
    return render(request, "registry/register.html", {"form": form})
