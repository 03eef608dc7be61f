"""Reads of queries. ``queries_visible_to`` is the only road to query rows.

A query is reached through its patient, so the registry's centre rule applies
unchanged: site staff see their own centre's queries, study-wide roles see all.
"""

from __future__ import annotations

from statistics import median

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from quality.models import Query, QueryStatus
from registry.models import Patient, User
from registry.selectors import patients_visible_to

# Open or answered: still waiting for someone. Only a closed query is resolved.
UNRESOLVED = (QueryStatus.OPEN, QueryStatus.ANSWERED)


def queries_visible_to(user: User) -> QuerySet[Query]:
    return Query.objects.filter(patient__in=patients_visible_to(user).values("pk")).select_related(
        "patient__center", "raised_by", "closed_by"
    )


def query_get_for(user: User, query_id: int) -> Query:
    """The query if ``user`` may see its patient; otherwise 404, as if absent."""
    query = queries_visible_to(user).filter(pk=query_id).first()
    if query is None:
        raise Http404(_("No such query."))
    return query


def unresolved_queries(patient: Patient) -> QuerySet[Query]:
    return Query.objects.filter(patient=patient, status__in=UNRESOLVED).order_by("raised_at", "pk")


def lock_blockers(sender, patient: Patient, **kwargs) -> list[str]:
    """Receiver of ``casebook_lock_blockers``: each unresolved query is a reason not to lock."""
    return [
        _("query %(id)s on %(where)s is %(status)s")
        % {"id": q.pk, "where": q.where, "status": q.get_status_display().lower()}
        for q in unresolved_queries(patient)
    ]


def unresolved_counts(patient_ids) -> dict[int, int]:
    """Unresolved queries per patient id, in one query."""
    rows = (
        Query.objects.filter(patient_id__in=patient_ids, status__in=UNRESOLVED)
        .values("patient_id")
        .annotate(n=Count("pk"))
    )
    return {row["patient_id"]: row["n"] for row in rows}


def field_markers(patient: Patient) -> dict[tuple[str, int | None, str], list[Query]]:
    """Unresolved queries of one casebook by (section, record id, field), for form markers.

    A query on a whole part is under field ""; on the casebook, section "" too.
    """
    markers: dict[tuple[str, int | None, str], list[Query]] = {}
    for query in unresolved_queries(patient):
        markers.setdefault((query.section, query.record_id, query.field), []).append(query)
    return markers


def centre_metrics(user: User) -> list[dict]:
    """Per visible centre: open, answered and closed counts, and median days to answer."""
    queries = queries_visible_to(user)
    counts = {
        row["patient__center__code"]: row
        for row in queries.values("patient__center__code").annotate(
            open=Count("pk", filter=Q(status=QueryStatus.OPEN)),
            answered=Count("pk", filter=Q(status=QueryStatus.ANSWERED)),
            closed=Count("pk", filter=Q(status=QueryStatus.CLOSED)),
        )
    }
    days: dict[str, list[float]] = {}
    answered = queries.filter(answered_at__isnull=False).values_list(
        "patient__center__code", "raised_at", "answered_at"
    )
    for code, raised_at, answered_at in answered:
        days.setdefault(code, []).append((answered_at - raised_at).total_seconds() / 86400)
    return [
        {
            "center": code,
            "open": row["open"],
            "answered": row["answered"],
            "closed": row["closed"],
            "median_days_to_answer": round(median(days[code]), 1) if code in days else None,
        }
        for code, row in sorted(counts.items())
    ]
