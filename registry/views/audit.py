"""The study-wide audit trail for inspectors and monitors: CSV or JSON, filtered, streamed.

``GET /audit/export/?format=csv|json&user=&patient=&action=&from=&to=``, from the filter form
of ``GET /audit/`` (every export is itself an audit event). Rows come through
``patients_visible_to`` (site staff get their centre's events); events about no patient
(exports) only for administrators. The free-form ``detail`` is left out for users who do not
see identifiers in lists. Streamed in chunks, so memory stays flat however long the trail.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core import permissions
from registry import services
from registry.models import AuditEvent
from registry.selectors import patients_visible_to

COLUMNS = ("at", "user", "action", "patient", "reason", "detail")
FORMATS = ("csv", "json")
FILTERS = ("format", "user", "patient", "action", "from", "to")
_CHUNK = 2000


class _Echo:
    def write(self, value: str) -> str:
        return value


def _moment(raw: str, *, end: bool) -> datetime | None:
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise ValueError
        moment = datetime.combine(day, time.max if end else time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _filters(params) -> tuple[Q, dict[str, str]]:
    query, errors = Q(), {}
    if params.get("user"):
        query &= Q(user__username=params["user"])
    if params.get("patient"):
        query &= Q(patient__study_id=params["patient"])
    action = params.get("action", "")
    if action:
        if action not in AuditEvent.Action.values:
            errors["action"] = _("action: one of %(codes)s.") % {
                "codes": ", ".join(AuditEvent.Action.values)
            }
        query &= Q(action=action)
    for name, lookup, end in (("from", "at__gte", False), ("to", "at__lte", True)):
        if params.get(name):
            try:
                query &= Q(**{lookup: _moment(params[name], end=end)})
            except (ValueError, TypeError):
                errors[name] = _("%(name)s: a date (2026-01-31) or date and time.") % {"name": name}
    if params.get("format", "csv") not in FORMATS:
        errors["format"] = _("format: csv or json.")
    return query, errors


def audit_events_visible_to(user):
    scope = Q(patient__in=patients_visible_to(user).values("pk"))
    if permissions.is_administrator(user):
        scope |= Q(patient__isnull=True)
    return AuditEvent.objects.filter(scope)


def _rows(events, with_detail: bool):
    for event in events.iterator(chunk_size=_CHUNK):
        yield {
            "at": event.at.isoformat(),
            "user": event.user.username if event.user else "",
            "action": event.action,
            "patient": event.patient.study_id if event.patient else "",
            "reason": event.reason,
            "detail": event.detail if with_detail else None,
        }


def _csv(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows:
        detail = "" if row["detail"] is None else json.dumps(row["detail"], sort_keys=True)
        yield writer.writerow([*(row[c] for c in COLUMNS[:-1]), detail])


def _json(rows):
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + "\n" + json.dumps(row, sort_keys=True)
    yield "\n]\n"


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    query, errors = _filters(request.GET)
    if errors:
        return HttpResponse("\n".join(errors.values()), status=400, content_type="text/plain")
    services.audit_trail_export_record(
        user=request.user, filters={name: request.GET.get(name, "") for name in FILTERS}
    )
    events = (
        audit_events_visible_to(request.user)
        .filter(query)
        .select_related("user", "patient")
        .order_by("at", "pk")
    )
    rows = _rows(events, with_detail=permissions.sees_identifiers_in_lists(request.user))
    kind = request.GET.get("format", "csv")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if kind == "json":
        response = StreamingHttpResponse(_json(rows), content_type="application/json")
    else:
        response = StreamingHttpResponse(_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{kind}"'
    return response


@login_required
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    """The filter form that leads to the export; what it returns is scoped like the export."""
    return render(
        request,
        "registry/audit_trail.html",
        {
            "actions": AuditEvent.Action.choices,
            "includes_detail": permissions.sees_identifiers_in_lists(request.user),
            "includes_study_events": permissions.is_administrator(request.user),
        },
    )
