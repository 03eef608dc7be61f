"""Reads of queries. ``queries_visible_to`` is the only road to query rows.

A query is reached through its patient, so the registry's centre rule applies
unchanged: site staff see their own centre's queries, study-wide roles see all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import timedelta
from statistics import median

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from quality.models import Query, QueryMessage, QueryStatus
from quality.presenters import where_label
from quality.rules import RULES
from registry import choices as c
from registry.models import MODEL_BY_SECTION, REPEATING_SECTIONS, Center, Patient, User
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
        % {"id": q.pk, "where": where_label(q), "status": q.get_status_display().lower()}
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


def query_list(
    user: User,
    *,
    statuses: Collection[str] = (),
    center: Center | None = None,
    study_id: str = "",
    older_than_days: int | None = None,
    raised_by: User | None = None,
    rule_code: str = "",
) -> QuerySet[Query]:
    """The visible queries that pass the list page's filters, each with its last message.

    ``older_than_days``: raised at least that many days ago. The last message's text and
    code (``rules.message_text``) come as ``last_text`` and ``last_code`` from subqueries, not
    one query per row.
    """
    queries = queries_visible_to(user)
    if statuses:
        queries = queries.filter(status__in=statuses)
    if center is not None:
        queries = queries.filter(patient__center=center)
    if study_id:
        queries = queries.filter(patient__study_id__iexact=study_id)
    if older_than_days is not None:
        queries = queries.filter(raised_at__lte=timezone.now() - timedelta(days=older_than_days))
    if raised_by is not None:
        queries = queries.filter(raised_by=raised_by)
    if rule_code:
        queries = queries.filter(origin=Query.Origin.RULE, rule_code=rule_code)
    last = QueryMessage.objects.filter(query=OuterRef("pk")).order_by("-at", "-pk")
    last_code = last.annotate(code=KeyTextTransform("message_code", "detail")).values("code")
    return queries.annotate(
        last_text=Subquery(last.values("text")[:1]), last_code=Subquery(last_code[:1])
    )


def query_raisers(user: User) -> QuerySet[User]:
    """Everyone who raised a query ``user`` can see: the choices of the list's raiser filter."""
    return User.objects.filter(pk__in=queries_visible_to(user).values("raised_by")).order_by(
        "username"
    )


def query_messages(query: Query) -> QuerySet[QueryMessage]:
    """The thread of one query, oldest first, with each author."""
    return query.messages.select_related("author")


def target_record(patient: Patient, section: str, record_id: int | None):
    """The record a query names: the patient for registration, the row of a repeating part,
    the one record of a single part. None for the casebook, a whole repeating part, a part
    not entered yet or a row deleted since."""
    if not section:
        return None
    model = MODEL_BY_SECTION[section]
    if model is Patient:
        return patient
    records = model.objects.filter(patient_id=patient.pk)
    if section in REPEATING_SECTIONS:
        if record_id is None:
            return None
        records = records.filter(pk=record_id)
    return records.first()


def rule_report(user: User, center: Center | None = None) -> list[dict]:
    """Per data-quality rule, its hits now in each visible centre (or in ``center``).

    One query per rule over the user's patients (``patients_visible_to``), so another
    centre's patients never count for site staff, plus one for the patients' centres.
    Rows: ``{"rule", "total", "by_center": [(code, n), …]}`` in the rules' order.
    """
    scope = patients_visible_to(user)
    if center is not None:
        scope = scope.filter(center=center)
    centre_of = dict(scope.values_list("pk", "center__code"))
    rows = []
    for rule in RULES:
        counts = Counter(centre_of[patient_id] for patient_id, _record in rule.hits(scope))
        rows.append(
            {"rule": rule, "total": sum(counts.values()), "by_center": sorted(counts.items())}
        )
    return rows


def visible_center(user: User, code: str) -> Center:
    """The centre with ``code`` if ``user`` may see its patients; otherwise 404, as if absent."""
    centers = Center.objects.filter(code=code)
    if not permissions.sees_all_centers(user):
        centers = centers.filter(pk=user.center_id)
    center = centers.first()
    if center is None:
        raise Http404(_("No such centre."))
    return center


def locked_data_quality(user: User) -> dict:
    """The quality of the locked data the analyses read, for the PI dashboard's headline.

    Locked casebooks with a 2L start are the ones a run analyses: how many there are and how
    many of them carry an unresolved query; and what share of the critical values entered
    (every casebook the user sees) is verified against source. A fixed number of queries,
    whatever the cohort's size.
    """
    from quality.verifications import critical_progress_cached

    locked = patients_visible_to(user).filter(
        casebook_status=c.CasebookStatus.LOCKED, second_line__isnull=False
    )
    analysed = locked.count()
    unresolved = locked.filter(queries__status__in=UNRESOLVED).values("pk").distinct().count()
    progress = critical_progress_cached(user)
    critical = sum(p.critical for p in progress)
    verified = sum(p.verified for p in progress)
    return {
        "analysed": analysed,
        "with_unresolved_queries": unresolved,
        "critical_verified_percent": round(100 * verified / critical, 1) if critical else None,
    }


def unresolved_on_locked_casebooks() -> int:
    """Unresolved queries on any locked casebook: an analysis cannot be final while any is."""
    return Query.objects.filter(
        status__in=UNRESOLVED, patient__casebook_status=c.CasebookStatus.LOCKED
    ).count()
