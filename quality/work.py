"""The "my work" lists: what is waiting for this user, by role, as set-based reads.

Each list is one queryset reached through the centre scope (``patients_visible_to``,
``queries_visible_to``, ``verifications_visible_to``), so site staff see only their centre's
work; the page counts each list with one ``COUNT`` and pages the one being read. Nothing
loops over patients: a page of 25 rows costs the same at 100 or 100,000 patients (the parts
still to complete are fetched for the page's 25 casebooks in one query).

- Site staff (coordinators and investigators): open queries of their centre (waiting for
  the site's answer), enrolled casebooks not complete yet with the parts not marked
  complete, and overdue follow-ups (alive, last contact older than
  ``QUALITY_FOLLOW_UP_INTERVAL_DAYS``, the definition of the ``last_contact_overdue`` rule).
  Investigators see first the casebooks ready to sign.
- Data managers: answered queries waiting for review, dropped verifications not verified
  again since, casebooks ready to lock.
- "Ready to sign" / "ready to lock": marked complete, not locked, no unresolved query. When
  the study requires source verification for the lock, the lock still refuses a casebook
  whose critical values are not all verified, and says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core import permissions
from quality.models import Query, QueryStatus, Verification
from quality.rules import last_contact_overdue
from quality.selectors import UNRESOLVED, queries_visible_to
from quality.verifications import verifications_visible_to
from registry import choices as c
from registry.models import SectionCompletion, User
from registry.selectors import patients_visible_to


def _open_queries(user: User) -> QuerySet:
    return queries_visible_to(user).filter(status=QueryStatus.OPEN).order_by("raised_at", "pk")


def _answered_queries(user: User) -> QuerySet:
    return (
        queries_visible_to(user).filter(status=QueryStatus.ANSWERED).order_by("answered_at", "pk")
    )


def _incomplete(user: User) -> QuerySet:
    return (
        patients_visible_to(user)
        .filter(
            enrolment_status=c.EnrolmentStatus.ENROLLED,
            casebook_status=c.CasebookStatus.IN_PROGRESS,
        )
        .order_by("registration_date", "pk")
    )


def _overdue(user: User) -> QuerySet:
    return last_contact_overdue(patients_visible_to(user)).order_by("last_contact", "pk")


def _ready(user: User) -> QuerySet:
    """Complete, not locked, no unresolved query: the next step is the signature and lock."""
    unresolved = Query.objects.filter(patient=OuterRef("pk"), status__in=UNRESOLVED)
    return (
        patients_visible_to(user)
        .filter(casebook_status=c.CasebookStatus.COMPLETE)
        .filter(~Exists(unresolved))
        .order_by("registration_date", "pk")
    )


def _dropped(user: User) -> QuerySet:
    """Dropped verifications whose value (or whole part/record) has no valid check again."""
    verified_again = (
        Verification.objects.filter(
            patient=OuterRef("patient"),
            section=OuterRef("section"),
            dropped_at__isnull=True,
        )
        .annotate(record_key=Coalesce("record_id", Value(0)))
        .filter(record_key=OuterRef("record_key"))
        .filter(Q(field=OuterRef("field")) | Q(field=""))
    )
    return (
        verifications_visible_to(user)
        .filter(dropped_at__isnull=False)
        .annotate(record_key=Coalesce("record_id", Value(0)))
        .filter(~Exists(verified_again))
        .order_by("-dropped_at", "-pk")
    )


@dataclass(frozen=True)
class WorkList:
    key: str
    title: str | Promise
    empty: str | Promise
    rows: Callable[[User], QuerySet]
    kind: str  # "query", "patient" or "verification": how a row is shown


LISTS: dict[str, WorkList] = {
    w.key: w
    for w in (
        WorkList(
            "ready_to_sign",
            _("Casebooks ready to sign"),
            _("No casebook is waiting for your signature."),
            _ready,
            "patient",
        ),
        WorkList(
            "open_queries",
            _("Open queries of my centre"),
            _("No query is waiting for an answer."),
            _open_queries,
            "query",
        ),
        WorkList(
            "incomplete",
            _("Incomplete casebooks"),
            _("Every enrolled casebook is complete."),
            _incomplete,
            "patient",
        ),
        WorkList(
            "overdue_follow_up",
            _("Overdue follow-ups"),
            _("No follow-up is overdue."),
            _overdue,
            "patient",
        ),
        WorkList(
            "answered_queries",
            _("Answered queries to review"),
            _("No answered query is waiting for review."),
            _answered_queries,
            "query",
        ),
        WorkList(
            "dropped_verifications",
            _("Dropped verifications"),
            _("No verification is waiting to be checked again."),
            _dropped,
            "verification",
        ),
        WorkList(
            "ready_to_lock",
            _("Casebooks ready to lock"),
            _("No casebook is waiting to be locked."),
            _ready,
            "patient",
        ),
    )
}


def work_lists_for(user: User) -> list[WorkList]:
    """The lists this user's role works through, most urgent first (none for PIs, admins)."""
    keys: list[str] = []
    if permissions.is_site_staff(user):
        if permissions.can_lock(user):
            keys.append("ready_to_sign")
        keys += ["open_queries", "incomplete", "overdue_follow_up"]
    if permissions.can_review_queries(user):
        keys += ["answered_queries", "dropped_verifications", "ready_to_lock"]
    return [LISTS[key] for key in keys]


def work_counts(user: User) -> dict[str, int]:
    """One COUNT per list of the user's role."""
    return {w.key: w.rows(user).count() for w in work_lists_for(user)}


def parts_not_complete(patient_ids: list[int]) -> dict[int, list[str]]:
    """For a page of casebooks: the parts (labels, in casebook order) not marked complete,
    from one query over their completions."""
    done: dict[int, set[str]] = {pk: set() for pk in patient_ids}
    for patient_id, section in SectionCompletion.objects.filter(
        patient_id__in=patient_ids
    ).values_list("patient_id", "section"):
        done[patient_id].add(section)
    return {
        pk: [str(label) for value, label in c.Section.choices if value not in sections]
        for pk, sections in done.items()
    }
