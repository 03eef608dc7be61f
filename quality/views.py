"""The query pages: list (and its CSV), detail with answer / close / re-open, raise; and
source data verification: the casebook's "verify" buttons, progress and dropped checks.

Thin, like the registry's pages: selectors read (another centre's query or patient is a
404 before anything else), forms parse, ``quality.services`` write, and a service error is
answered with the registry's helpers (``raise_for`` for 404/403, ``attach`` to put the
message next to its field; the page then answers with the error's status, 400 for invalid).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from core import permissions
from core.errors import ApplicationError
from quality import notifications, presenters, selectors, services, verifications, work
from quality.forms import (
    AnswerForm,
    CentreFilterForm,
    CloseForm,
    NotificationPreferenceForm,
    QueryFilterForm,
    QueryTargetForm,
    RaiseQueryForm,
    ReopenForm,
)
from quality.models import Query, QueryStatus
from quality.rules import message_text
from registry import choices as c
from registry.presenters import record_rows, section_slug
from registry.selectors import patient_get_for
from registry.views.errors import attach, raise_for

PAGE_SIZE = 25


@login_required
@require_http_methods(["GET"])
def query_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filters = QueryFilterForm(request.GET or None, user=user)
    queries = selectors.query_list(user, **filters.filters())
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(presenters.queries_csv(queries), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="queries.csv"'
        return response
    page = Paginator(queries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _query_rows(page.object_list)
    query_without_page = request.GET.copy()
    for name in ("page", "format"):
        query_without_page.pop(name, None)
    return render(
        request,
        "quality/query_list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "querystring": query_without_page.urlencode(),
            "metrics": selectors.centre_metrics(user),
            "show_center": permissions.sees_all_centers(user),
        },
    )


def _query_rows(queries) -> list[dict]:
    """A page of queries as the lists show them: where, and days open."""
    now = timezone.now()
    return [
        {
            "query": q,
            "where": presenters.where_label(q),
            "days_open": presenters.days_open(q, now),
            "last_text": message_text(
                getattr(q, "last_text", None) or "", {"message_code": getattr(q, "last_code", "")}
            ),
        }
        for q in queries
    ]


def _refused(form, error: ApplicationError) -> int:
    """A service said no: 404 and 403 as such, otherwise its message on the form; the status."""
    raise_for(error)
    attach(form, error)
    return error.http_status


# -- detail and its three actions ----------------------------------------------------------------


def _answer(request: HttpRequest, query: Query, form: AnswerForm) -> Query:
    try:
        return services.query_answer(user=request.user, query_id=query.pk, **form.service_kwargs())
    except ApplicationError as error:
        # The registry's service names the model field; on this form it is "value", and the
        # version is hidden, so its message goes to the top of the form.
        renamed = {"version": "__all__"}
        if query.field:
            renamed[query.field] = "value"
        fields: dict[str, list[str]] = {}
        for name, msgs in error.fields.items():
            fields.setdefault(renamed.get(name, name), []).extend(msgs)
        raise ApplicationError(error.message, code=error.code, fields=fields) from error


def _close(request: HttpRequest, query: Query, form: CloseForm) -> Query:
    return services.query_close(
        user=request.user, query_id=query.pk, text=form.cleaned_data["text"]
    )


def _reopen(request: HttpRequest, query: Query, form: ReopenForm) -> Query:
    return services.query_reopen(
        user=request.user, query_id=query.pk, text=form.cleaned_data["text"]
    )


ACTIONS: dict[str, Callable] = {"answer": _answer, "close": _close, "reopen": _reopen}
DONE = {
    "answer": gettext_lazy("Query %(id)s answered."),
    "close": gettext_lazy("Query %(id)s closed."),
    "reopen": gettext_lazy("Query %(id)s re-opened."),
}


def _action_forms(request: HttpRequest, query: Query, record) -> dict:
    """The forms this user's role may send for this query (bound for the one posted)."""
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None

    def data(name: str):
        return request.POST if action == name else None

    forms: dict = {}
    if permissions.can_answer_query(user, query.patient):
        forms["answer"] = AnswerForm(data("answer"), query=query, record=record)
    if permissions.can_review_queries(user):
        forms["close"] = CloseForm(data("close"))
        forms["reopen"] = ReopenForm(data("reopen"))
    return forms


# Which forms a query's status offers; a posted form is shown again whatever the status.
_OFFERED = {
    "answer": (QueryStatus.OPEN,),
    "close": (QueryStatus.OPEN, QueryStatus.ANSWERED),
    "reopen": (QueryStatus.ANSWERED, QueryStatus.CLOSED),
}


@login_required
@require_http_methods(["GET", "POST"])
def query_detail(request: HttpRequest, query_id: int) -> HttpResponse:
    query = selectors.query_get_for(request.user, query_id)
    record = selectors.target_record(query.patient, query.section, query.record_id)
    forms = _action_forms(request, query, record)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            return HttpResponse(_("Unknown action."), status=400, content_type="text/plain")
        form = forms.get(action)
        if form is None:
            raise PermissionDenied(_("Your role may not do this with a query."))
        if form.is_valid():
            try:
                ACTIONS[action](request, query, form)
            except ApplicationError as error:
                status = _refused(form, error)
            else:
                messages.success(request, DONE[action] % {"id": query.pk})
                return redirect("quality:query_detail", query_id=query.pk)
        else:
            status = 400
    sees_identifiers = permissions.can_see_identifiers(request.user, query.patient)
    shown = {
        name: form
        for name, form in forms.items()
        if form.is_bound or query.status in _OFFERED[name]
    }
    return render(
        request,
        "quality/query_detail.html",
        {
            "query": query,
            "patient": query.patient,
            "where": presenters.where_label(query),
            "days_open": presenters.days_open(query),
            "thread": presenters.thread(query, selectors.query_messages(query)),
            "value_at_raise": presenters.value_at_raise(query),
            "current_value": presenters.field_value(record, query.field, sees_identifiers),
            "answer_form": shown.get("answer"),
            "close_form": shown.get("close"),
            "reopen_form": shown.get("reopen"),
            "casebook_anchor": section_slug(query.section) if query.section else "",
        },
        status=status,
    )


# -- raise ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def query_new(request: HttpRequest) -> HttpResponse:
    target = QueryTargetForm(request.GET)
    # The patient first: another centre's patient is absent, whatever the role.
    patient = patient_get_for(request.user, request.GET.get("patient", ""))
    if not permissions.can_review_queries(request.user):
        raise PermissionDenied(_("Only a data manager may raise a query."))
    if not target.is_valid():
        raise Http404(_("No such part or record."))
    section = target.cleaned_data["section"]
    record_id = target.cleaned_data["record"]
    record = selectors.target_record(patient, section, record_id)
    if record_id is not None and record is None:
        raise Http404(_("No such record in this casebook."))
    form = RaiseQueryForm(request.POST or None, section=section, record=record)
    field_name = form.known_field(target.cleaned_data["field"])
    form.initial["field"] = field_name
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                query = services.query_raise(
                    user=request.user,
                    patient=patient,
                    text=form.cleaned_data["text"],
                    section=section,
                    record_id=record_id,
                    field=form.cleaned_data.get("field", ""),
                )
            except ApplicationError as error:
                status = _refused(form, error)
            else:
                messages.success(
                    request,
                    _("Query %(id)s raised on %(where)s.")
                    % {"id": query.pk, "where": presenters.where_label(query)},
                )
                anchor = f"#{section_slug(section)}" if section else ""
                return redirect(reverse("registry:casebook", args=[patient.study_id]) + anchor)
        else:
            status = 400
    sees_identifiers = permissions.can_see_identifiers(request.user, patient)
    return render(
        request,
        "quality/query_new.html",
        {
            "patient": patient,
            "form": form,
            "where": presenters.where_label(
                Query(patient=patient, section=section, record_id=record_id)
            ),
            "field_name": field_name,
            "current_value": presenters.field_value(record, field_name, sees_identifiers),
            "rows": record_rows(record, sees_identifiers) if record is not None else [],
            "casebook_anchor": section_slug(section) if section else "",
        },
        status=status,
    )


# -- source data verification -----------------------------------------------------------------


def _optional_id(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise Http404(_("No such record."))
    return int(text)


@login_required
@require_http_methods(["POST"])
def verification_mark(request: HttpRequest, study_id: str) -> HttpResponse:
    """The casebook's "verify" buttons: verify one field or a whole part/record, go back."""
    # The patient first: another centre's patient is absent, whatever the role.
    patient = patient_get_for(request.user, study_id)
    if not permissions.can_verify_source(request.user):
        raise PermissionDenied(_("Only a data manager may verify data against source."))
    section = request.POST.get("section", "")
    field = request.POST.get("field", "").strip()
    try:
        rows = verifications.verification_mark(
            user=request.user,
            patient=patient,
            section=section,
            record_id=_optional_id(request.POST.get("record")),
            fields=[field] if field else None,
        )
    except ApplicationError as error:
        raise_for(error)
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Verified against source: %(where)s.")
            % {"where": presenters.verification_where(rows[0])},
        )
    anchor = f"#{section_slug(section)}" if section in dict(c.Section.choices) else ""
    return redirect(reverse("registry:casebook", args=[patient.study_id]) + anchor)


@login_required
@require_http_methods(["GET"])
def verification_overview(request: HttpRequest) -> HttpResponse:
    """Progress per centre (critical values verified) and the verifications changes dropped."""
    user = request.user
    filters = CentreFilterForm(request.GET or None, user=user)
    center = filters.chosen_center()
    dropped = verifications.dropped_verifications(user, center=center)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(presenters.dropped_csv(dropped), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="dropped-verifications.csv"'
        return response
    page = Paginator(dropped, PAGE_SIZE).get_page(request.GET.get("page"))
    study = verifications.study_settings()
    query_without_page = request.GET.copy()
    for name in ("page", "format"):
        query_without_page.pop(name, None)
    return render(
        request,
        "quality/verification.html",
        {
            "filters": filters,
            "progress": verifications.critical_progress(user, center=center),
            "page": page,
            "rows": [presenters.dropped_row(v) for v in page.object_list],
            "querystring": query_without_page.urlencode(),
            "critical_fields": study.critical_fields,
            "lock_requires_sdv": study.lock_requires_sdv,
            "show_center": permissions.sees_all_centers(user),
        },
    )


# -- data-quality rules report ---------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def rules_report(request: HttpRequest) -> HttpResponse:
    """Hits of every data-quality rule now, per centre the user may see; CSV with ?format=csv.

    ``?center=CODE`` narrows to one centre; a centre the user may not see is a 404.
    """
    user = request.user
    center = None
    if code := request.GET.get("center", ""):
        center = selectors.visible_center(user, code)
    rows = selectors.rule_report(user, center)
    if request.GET.get("format") == "csv":
        response = HttpResponse(presenters.rule_report_csv(rows), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="data-quality-rules.csv"'
        return response
    return render(
        request,
        "quality/rules_report.html",
        {
            "rows": rows,
            "center": center,
            "show_center_filter": permissions.sees_all_centers(user),
            "follow_up_days": settings.QUALITY_FOLLOW_UP_INTERVAL_DAYS,
        },
    )


# -- my work ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def start(request: HttpRequest) -> HttpResponse:
    """Where a login lands: the task lists for a role that has some, else the patient list."""
    if work.work_lists_for(request.user):
        return redirect("quality:my_work")
    return redirect("registry:patient_list")


@login_required
@require_http_methods(["GET"])
def my_work(request: HttpRequest) -> HttpResponse:
    """The user's task lists with their counts; the chosen one (``?list=``) paged below."""
    user = request.user
    lists = work.work_lists_for(user)
    counts = work.work_counts(user)
    chosen = None
    if lists:
        key = request.GET.get("list") or next((w.key for w in lists if counts[w.key]), lists[0].key)
        chosen = next((w for w in lists if w.key == key), None)
        if chosen is None:
            raise Http404(_("No such list."))
    page = rows = None
    if chosen is not None:
        page = Paginator(chosen.rows(user), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = _work_rows(chosen, list(page.object_list))
    return render(
        request,
        "quality/my_work.html",
        {
            "lists": [{"list": w, "count": counts[w.key]} for w in lists],
            "chosen": chosen,
            "page": page,
            "rows": rows,
            "querystring": f"list={chosen.key}" if chosen else "",
            "show_center": permissions.sees_all_centers(user),
            "follow_up_days": settings.QUALITY_FOLLOW_UP_INTERVAL_DAYS,
        },
    )


def _work_rows(chosen: work.WorkList, objects: list) -> list[dict]:
    if chosen.kind == "query":
        return _query_rows(objects)
    if chosen.kind == "verification":
        return [presenters.dropped_row(v) for v in objects]
    missing = work.parts_not_complete([p.pk for p in objects]) if chosen.key == "incomplete" else {}
    return [{"patient": p, "missing": missing.get(p.pk, [])} for p in objects]


# -- notifications --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; POST marks one (``id``) or all read."""
    if request.method == "POST":
        raw = request.POST.get("id", "")
        # ASCII digits that fit a bigint: "²" is a digit to str.isdigit, and int() refuses it.
        if raw and not re.fullmatch(r"[0-9]{1,18}", raw):
            return HttpResponse(
                _("id: a notification number."), status=400, content_type="text/plain"
            )
        changed = notifications.notifications_mark_read(
            user=request.user, notification_ids=[int(raw)] if raw else None
        )
        if not raw:
            messages.success(
                request,
                ngettext(
                    "%(n)d notification marked read.", "%(n)d notifications marked read.", changed
                )
                % {"n": changed},
            )
        return redirect("quality:notification_list")
    rows = notifications.notifications_for(request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "quality/notifications.html",
        {
            "page": page,
            "items": [
                {
                    "n": n,
                    "link": _notification_link(n),
                    "where": presenters.where_label(n.query) if n.query is not None else "",
                }
                for n in page.object_list
            ],
            "unread": rows.filter(read_at__isnull=True).count(),
            "querystring": "",
            "preference": notifications.preference_for(request.user),
        },
    )


def _notification_link(notification) -> str:
    if notification.query_id is not None:
        return reverse("quality:query_detail", args=[notification.query_id])
    return reverse("registry:casebook", args=[notification.patient.study_id])


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    initial = {"email": notifications.preference_for(request.user)}
    form = NotificationPreferenceForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            notifications.preference_set(user=request.user, email=form.cleaned_data["email"])
            messages.success(request, _("Your email preference is saved."))
            return redirect("quality:notification_preferences")
        status = 400
    return render(request, "quality/notification_preferences.html", {"form": form}, status=status)
