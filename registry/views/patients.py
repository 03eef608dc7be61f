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
from registry.models import Patient
from registry.selectors import patients_visible_to
from registry.views.errors import attach, raise_for, require_editor

PAGE_SIZE = 25


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    search = PatientSearchForm(request.GET or None)
    # All of a site user's patients are their own centre's; admins see every identifier.
    may_search_identifiers = permissions.sees_identifiers_in_lists(user)
    patients = patients_visible_to(user).annotate(
        parts_complete=Count("completions", distinct=True)
    )
    if search.is_valid():
        query = search.cleaned_data["q"].strip()
        if query:
            condition = Q(study_id__icontains=query)
            if may_search_identifiers:
                condition |= Q(mrn__iexact=query) | Q(initials__iexact=query)
            patients = patients.filter(condition)
        status = search.cleaned_data["status"]
        if status in c.EnrolmentStatus.values:
            patients = patients.filter(enrolment_status=status)
        elif status in c.CasebookStatus.values:
            patients = patients.filter(
                enrolment_status=c.EnrolmentStatus.ENROLLED, casebook_status=status
            )
    page = Paginator(patients.order_by("center__code", "sequence"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
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
