"""Server-rendered pages of the registry.

Thin entry points: every patient is fetched through ``patient_get_for`` (other
centres answer 404), forms only parse, and every write goes through
``registry.services``. The service's ``ApplicationError`` is answered the same
way everywhere: not_found → 404, forbidden → 403, locked → 409 page, stale and
invalid → messages on the form next to the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from core import permissions
from core.errors import ApplicationError, ErrorCode
from registry import choices as c
from registry import derived, services
from registry.casebook import Casebook, load_casebook
from registry.forms import (
    FORM_BY_SECTION,
    DeleteForm,
    PatientSearchForm,
    RegistrationForm,
    SignForm,
    UnlockForm,
    field_label,
)
from registry.models import (
    CRF_MODELS,
    MODEL_BY_SECTION,
    REPEATING_SECTIONS,
    AuditEvent,
    Patient,
    SecondLineTherapy,
    SectionCompletion,
    Signature,
)
from registry.selectors import patient_get_for, patients_visible_to

PAGE_SIZE = 25
# Bookkeeping columns that are not study data; the history view leaves them out.
HISTORY_SKIP = {"id", "patient", "version", "updated_at", "created_at", "center", "sequence"}
REPEATING_COLUMNS = {
    c.Section.ASSESSMENTS: (
        "assessment_date",
        "line",
        "target_sum_mm",
        "new_lesions",
        "overall_response",
    ),
    c.Section.ADVERSE_EVENTS: (
        "term",
        "grade",
        "onset_date",
        "resolution_date",
        "serious",
        "immune_related",
        "attribution",
        "outcome",
    ),
    c.Section.FOLLOW_UP: (
        "contact_date",
        "vital_status",
        "death_date",
        "death_cause",
        "progression_status",
    ),
}
SECTION_ATTR = {
    c.Section.BASELINE: "baseline",
    c.Section.FIRST_LINE: "first_line",
    c.Section.SECOND_LINE: "second_line",
    c.Section.ASSESSMENTS: "assessments",
    c.Section.ADVERSE_EVENTS: "adverse_events",
    c.Section.FOLLOW_UP: "follow_ups",
}


def section_slug(section: str) -> str:
    return section.replace("_", "-")


# -- answering service errors --------------------------------------------------------------


def _locked_response(request: HttpRequest, patient: Patient, message: str = "") -> HttpResponse:
    return render(
        request,
        "registry/locked.html",
        {"patient": patient, "message": message or f"Casebook {patient} is locked and read-only."},
        status=409,
    )


def _raise_for(error: ApplicationError) -> None:
    """Turn codes that are not about the form into their HTTP answer."""
    if error.code == ErrorCode.NOT_FOUND:
        raise Http404(error.message)
    if error.code == ErrorCode.FORBIDDEN and not error.fields:
        raise PermissionDenied(error.message)


def _attach(form, error: ApplicationError) -> None:
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
                form.add_error(None, f"{capfirst(name.replace('_', ' '))}: {msg}")


def _require_editor(request: HttpRequest) -> None:
    if not permissions.can_edit_crf(request.user):
        raise PermissionDenied(
            f"Your role ({request.user.get_role_display()}) may read but not change CRF data."
        )


# -- display helpers -------------------------------------------------------------------------


def _display(record, name: str, sees_identifiers: bool) -> str:
    if name in record.identifier_fields and not sees_identifiers:
        return "(identifier hidden)"
    value = getattr(record, name)
    model_field = record._meta.get_field(name)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _label(model, name: str) -> str:
    return field_label(model._meta.get_field(name))


def _record_rows(record, sees_identifiers: bool) -> list[tuple[str, str, str]]:
    """(label, value, help) for every study field of a single-record part."""
    rows = []
    for model_field in record._meta.fields:
        if model_field.name in HISTORY_SKIP or not model_field.editable:
            continue
        if model_field.name in record.identifier_fields and not sees_identifiers:
            continue
        rows.append(
            (
                field_label(model_field),
                _display(record, model_field.name, sees_identifiers),
                model_field.help_text,
            )
        )
    return rows


def _months(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} months"


def _derived_values(book: Casebook) -> list[tuple[str, str, str]]:
    """(label, value, how it is derived) — computed from the CRF, never typed."""
    patient, baseline, first_line, second_line = (
        book.patient,
        book.baseline,
        book.first_line,
        book.second_line,
    )
    items: list[tuple[str, str, str]] = []
    if second_line:
        age = derived.age_in_years(patient.date_of_birth, second_line.start_date)
        items.append(("Age at 2L start", f"{age} years", "Completed years at the 2L start."))
    if baseline:
        bmi = derived.bmi(baseline.height_cm, baseline.weight_kg)
        items.append(
            (
                "BMI",
                f"{bmi:.1f} kg/m² ({derived.bmi_category(bmi)})",
                "Weight / height²; <18.5 underweight, 18.5–23.9 normal, ≥24 overweight.",
            )
        )
    if first_line:
        l1_pfs = derived.first_line_pfs_months(first_line.start_date, first_line.progression_date)
        group = "LTR" if derived.is_long_term_responder(l1_pfs) else "STR"
        items.append(("1L PFS", _months(l1_pfs), "1L start to 1L progression."))
        items.append(
            (
                "1L response group",
                group,
                "LTR: 1L PFS ≥ 6 months; STR: below 6 months.",
            )
        )
    dpr = book.depth_of_response_pct()
    items.append(
        (
            "Depth of response (DpR)",
            "—" if dpr is None else f"{dpr:.1f} %",
            "Maximal shrinkage of the target-lesion sum from the first 1L assessment.",
        )
    )
    row = book.analysis_row()
    if row is not None:
        items.append(
            (
                "Overall survival",
                f"{_months(row['os_months'])}, {'death' if row['os_event'] else 'censored'}",
                "From the 2L start to death, or to the last date known alive.",
            )
        )
        items.append(
            (
                "Progression-free survival",
                f"{_months(row['pfs_months'])}, "
                f"{'progression or death' if row['pfs_event'] else 'censored'}",
                "From the 2L start to progression or death, or to the last 2L assessment.",
            )
        )
    alive = book.last_known_alive()
    items.append(
        (
            "Last known alive",
            alive.isoformat() if alive else "—",
            "Latest contact, assessment, treatment or AE date.",
        )
    )
    return items


@dataclass
class SectionView:
    value: str
    label: str
    slug: str
    status: str
    repeating: bool
    rows: list = field(default_factory=list)
    record: Any = None
    columns: list = field(default_factory=list)
    table: list = field(default_factory=list)


def _sections(book: Casebook, sees_identifiers: bool) -> list[SectionView]:
    views = []
    for section in c.Section:
        view = SectionView(
            value=section.value,
            label=section.label,
            slug=section_slug(section.value),
            status=book.section_status(section.value),
            repeating=section.value in REPEATING_SECTIONS,
        )
        if section == c.Section.REGISTRATION:
            view.record = book.patient
            view.rows = _record_rows(book.patient, sees_identifiers)
        elif view.repeating:
            model = MODEL_BY_SECTION[section.value]
            names = REPEATING_COLUMNS[section.value]
            view.columns = [_label(model, name) for name in names]
            for record in getattr(book, SECTION_ATTR[section.value]):
                cells = [_display(record, name, sees_identifiers) for name in names]
                if (
                    section == c.Section.ADVERSE_EVENTS
                    and record.term == c.AeTerm.OTHER
                    and sees_identifiers
                ):
                    cells[0] = f"Other: {record.term_other_specify}"
                view.table.append((record, cells))
        else:
            view.record = getattr(book, SECTION_ATTR[section.value])
            if view.record is not None:
                view.rows = _record_rows(view.record, sees_identifiers)
        views.append(view)
    return views


# -- pages -----------------------------------------------------------------------------------


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
    _require_editor(request)
    choose_center = not permissions.is_site_staff(user)
    form = RegistrationForm(
        request.POST or None,
        sees_identifiers=True,
        choose_center=choose_center,
        initial={"registration_date": date.today()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(
                user=user,
                center=form.cleaned_data.get("center") if choose_center else None,
                data=form.service_data(),
            )
        except ApplicationError as error:
            _raise_for(error)
            _attach(form, error)
        else:
            if patient.enrolment_status == c.EnrolmentStatus.SCREEN_FAILURE:
                messages.warning(
                    request,
                    f"{patient.study_id} is recorded as a screen failure: "
                    f"{patient.screen_failure_reason}.",
                )
            else:
                messages.success(request, f"{patient.study_id} registered and enrolled.")
            return redirect("registry:casebook", study_id=patient.study_id)
    return render(request, "registry/register.html", {"form": form})


@login_required
def casebook(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    book = load_casebook(patient)
    signature = (
        Signature.objects.filter(patient=patient, voided_at__isnull=True)
        .select_related("signed_by")
        .first()
    )
    done, total = book.completeness()
    user = request.user
    can_edit = permissions.can_edit_crf(user) and not patient.is_locked
    enrolled = patient.enrolment_status == c.EnrolmentStatus.ENROLLED
    return render(
        request,
        "registry/casebook.html",
        {
            "patient": patient,
            "book": book,
            "sections": _sections(book, sees_identifiers) if enrolled else [],
            "registration_rows": _record_rows(patient, sees_identifiers),
            "derived": _derived_values(book) if enrolled else [],
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
            "enrolled": enrolled,
        },
    )


def _crf_form_page(
    request: HttpRequest,
    patient: Patient,
    section: str,
    record,
) -> HttpResponse:
    """GET shows the form of one record; POST parses it and saves through the service."""
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
            return _locked_response(request, patient)
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
                _raise_for(error)
                if error.code == ErrorCode.LOCKED:
                    return _locked_response(request, patient, error.message)
                _attach(form, error)
            except IntegrityError:
                # A database constraint the form could not see (a concurrent duplicate).
                form.add_error(None, "This conflicts with a record saved meanwhile; reload.")
            else:
                label = c.Section(section).label
                messages.success(request, f"{label} saved.")
                anchor = f"#{section_slug(section)}"
                if repeating and "save_add" in request.POST:
                    return redirect("registry:row_add", study_id=patient.study_id, section=section)
                return redirect(reverse("registry:casebook", args=[patient.study_id]) + anchor)
    elif patient.is_locked:
        messages.error(request, f"Casebook {patient} is locked and read-only.")
        return redirect("registry:casebook", study_id=patient.study_id)
    title = c.Section(section).label
    if repeating:
        title = f"{'Edit' if record is not None else 'Add'}: {model._meta.verbose_name}"
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
    _require_editor(request)
    if section == c.Section.REGISTRATION:
        if patient.enrolment_status != c.EnrolmentStatus.ENROLLED:
            messages.error(request, "A screen failure's registration is final.")
            return redirect("registry:casebook", study_id=patient.study_id)
        record = patient
    else:
        record = MODEL_BY_SECTION[section].objects.filter(patient=patient).first()
    return _crf_form_page(request, patient, section, record)


@login_required
def row_add(request: HttpRequest, study_id: str, section: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    _require_editor(request)
    return _crf_form_page(request, patient, section, None)


@login_required
def row_edit(request: HttpRequest, study_id: str, section: str, record_id: int) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    _require_editor(request)
    record = get_object_or_404(MODEL_BY_SECTION[section], pk=record_id, patient=patient)
    return _crf_form_page(request, patient, section, record)


@login_required
def row_delete(request: HttpRequest, study_id: str, section: str, record_id: int) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    _require_editor(request)
    model = MODEL_BY_SECTION[section]
    record = get_object_or_404(model, pk=record_id, patient=patient)
    form = DeleteForm(request.POST or None, initial={"version": record.version})
    if request.method == "POST":
        if patient.is_locked:
            return _locked_response(request, patient)
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
                _raise_for(error)
                if error.code == ErrorCode.LOCKED:
                    return _locked_response(request, patient, error.message)
                _attach(form, error)
            else:
                messages.success(request, f"Deleted: {record}.")
                return redirect(
                    reverse("registry:casebook", args=[patient.study_id])
                    + f"#{section_slug(section)}"
                )
    elif patient.is_locked:
        messages.error(request, f"Casebook {patient} is locked and read-only.")
        return redirect("registry:casebook", study_id=patient.study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    return render(
        request,
        "registry/delete.html",
        {
            "patient": patient,
            "record": record,
            "rows": _record_rows(record, sees_identifiers),
            "form": form,
            "slug": section_slug(section),
            "verbose_name": model._meta.verbose_name,
        },
    )


def _workflow_error(request: HttpRequest, patient: Patient, error: ApplicationError):
    _raise_for(error)
    if error.code == ErrorCode.LOCKED:
        return _locked_response(request, patient, error.message)
    problems = error.fields.get("__all__") or [error.message]
    messages.error(request, " • ".join(problems))
    return None


@login_required
@require_POST
def section_complete(request: HttpRequest, study_id: str, section: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    _require_editor(request)
    if patient.is_locked:
        return _locked_response(request, patient)
    try:
        services.section_mark_complete(user=request.user, patient=patient, section=section)
    except ApplicationError as error:
        response = _workflow_error(request, patient, error)
        if response is not None:
            return response
    else:
        messages.success(request, f"{c.Section(section).label} marked complete.")
    return redirect(reverse("registry:casebook", args=[study_id]) + f"#{section_slug(section)}")


@login_required
@require_POST
def casebook_complete(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    _require_editor(request)
    if patient.is_locked:
        return _locked_response(request, patient)
    try:
        services.casebook_mark_complete(user=request.user, patient=patient)
    except ApplicationError as error:
        response = _workflow_error(request, patient, error)
        if response is not None:
            return response
    else:
        messages.success(request, f"Casebook {patient} is complete and ready to sign.")
    return redirect("registry:casebook", study_id=study_id)


@login_required
def casebook_sign(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    if not permissions.can_lock(request.user):
        raise PermissionDenied("Only a site investigator or a data manager may sign and lock.")
    if patient.is_locked:
        if request.method == "POST":
            return _locked_response(request, patient, f"Casebook {patient} is already locked.")
        messages.info(request, f"Casebook {patient} is already signed and locked.")
        return redirect("registry:casebook", study_id=study_id)
    form = SignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.casebook_lock(
                user=request.user,
                patient=patient,
                password=form.cleaned_data["password"],
                meaning=form.cleaned_data["meaning"],
            )
        except ApplicationError as error:
            _raise_for(error)
            if error.code == ErrorCode.LOCKED:
                return _locked_response(request, patient, error.message)
            _attach(form, error)
        else:
            messages.success(request, f"Casebook {patient} signed and locked.")
            return redirect("registry:casebook", study_id=study_id)
    return render(
        request,
        "registry/sign.html",
        {"patient": patient, "form": form, "statement": services.SIGNATURE_MEANING},
    )


@login_required
def casebook_unlock(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    if not permissions.can_unlock(request.user):
        raise PermissionDenied("Only a data manager may unlock a casebook.")
    if not patient.is_locked:
        messages.info(request, f"Casebook {patient} is not locked.")
        return redirect("registry:casebook", study_id=study_id)
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.casebook_unlock(
                user=request.user, patient=patient, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            _raise_for(error)
            _attach(form, error)
        else:
            messages.success(request, f"Casebook {patient} unlocked; its signature is void.")
            return redirect("registry:casebook", study_id=study_id)
    signature = Signature.objects.filter(patient=patient, voided_at__isnull=True).first()
    return render(
        request,
        "registry/unlock.html",
        {"patient": patient, "form": form, "signature": signature},
    )


# -- history ---------------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    at: datetime
    user: Any
    record: str
    action: str
    changes: list[tuple[str, str, str]]
    reason: str
    kind: str  # "change" or "event"


def _history_value(model, name: str, value, sees_identifiers: bool) -> str:
    if name in model.identifier_fields and not sees_identifiers:
        return "(identifier hidden)"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _record_label(model, row) -> str:
    name = capfirst(model._meta.verbose_name)
    if model is Patient:
        return f"Registration {row.study_id}"
    detail = {
        "TumourAssessment": lambda r: f"{r.line} {r.assessment_date}",
        "AdverseEvent": lambda r: f"{r.term}, onset {r.onset_date}",
        "FollowUp": lambda r: f"{r.contact_date}",
    }.get(model.__name__)
    return f"{name} ({detail(row)})" if detail else name


def _field_changes(model, history_rows, sees_identifiers: bool) -> list[HistoryEntry]:
    names = [f.name for f in model._meta.fields if f.name not in HISTORY_SKIP]
    entries = []
    previous: dict[int, Any] = {}
    for row in history_rows:
        before = previous.get(row.id)
        changes = []
        for name in names:
            new = getattr(row, name)
            if row.history_type == "-":
                continue
            if before is None:
                if new is None or new == "":
                    continue
                changes.append(
                    (
                        _label(model, name),
                        "",
                        _history_value(model, name, new, sees_identifiers),
                    )
                )
            elif getattr(before, name) != new:
                changes.append(
                    (
                        _label(model, name),
                        _history_value(model, name, getattr(before, name), sees_identifiers),
                        _history_value(model, name, new, sees_identifiers),
                    )
                )
        action = {"+": "Created", "~": "Changed", "-": "Deleted"}[row.history_type]
        if row.history_type != "~" or changes:
            entries.append(
                HistoryEntry(
                    at=row.history_date,
                    user=row.history_user,
                    record=_record_label(model, row),
                    action=action,
                    changes=changes,
                    reason=row.history_change_reason or "",
                    kind="change",
                )
            )
        previous[row.id] = row
    return entries


def _event_entry(event: AuditEvent) -> HistoryEntry:
    detail = event.detail or {}
    record = ""
    if "section" in detail:
        record = str(dict(c.Section.choices).get(detail["section"], detail["section"]))
    if "record" in detail:
        record = f"{record}: {detail['record']}" if record else detail["record"]
    if detail.get("failed_criterion"):
        record = f"Failed: {detail['failed_criterion']}"
    if detail.get("why"):
        record = detail["why"]
    return HistoryEntry(
        at=event.at,
        user=event.user,
        record=record,
        action=event.get_action_display(),
        changes=[],
        reason=event.reason,
        kind="event",
    )


@login_required
def patient_history(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = patient_get_for(request.user, study_id)
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    entries: list[HistoryEntry] = []
    sources = [(Patient, Patient.history.filter(id=patient.pk))] + [
        (model, model.history.filter(patient_id=patient.pk)) for model in CRF_MODELS
    ]
    for model, rows in sources:
        ordered = rows.select_related("history_user").order_by("history_date", "history_id")
        entries.extend(_field_changes(model, ordered, sees_identifiers))
    events = AuditEvent.objects.filter(patient=patient).select_related("user")
    entries.extend(_event_entry(event) for event in events)
    entries.sort(key=lambda e: e.at, reverse=True)
    return render(
        request,
        "registry/history.html",
        {"patient": patient, "entries": entries},
    )
