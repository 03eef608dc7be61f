"""Query markers on the registry's pages, without the registry importing quality.

A registry template loads this library and asks for what it shows:

    {% load quality_tags %}
    {% query_markers patient as qm %}             one query for the whole casebook
    {% query_marker qm s.value record row.name %}  "?" badge (and "raise query" link)
    {% query_counts page.object_list as counts %}  one query for a page of patients
    {{ counts|query_count:p }}

Every tag is quiet without its data (``qm`` unset on a page that never asked), so a
shared include such as registry/_field.html may call it anywhere.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from core import permissions
from quality import selectors, verifications
from quality.checks import CLOSE_TEXT
from quality.models import Query
from quality.presenters import Markers, VerificationMarks, where_label
from quality.rules import RULE_CLOSED_CODE, RULE_MESSAGE_PREFIX, message_text
from registry.models import AuditEvent

register = template.Library()


@register.simple_tag(takes_context=True)
def query_markers(context, patient) -> Markers | None:
    """The casebook's unresolved queries by target, and whether the reader may raise more."""
    if not patient or not getattr(patient, "pk", None):
        return None
    user = context.get("user")
    return Markers(
        patient=patient,
        by_target=selectors.field_markers(patient),
        can_raise=permissions.can_review_queries(user),
    )


def raise_url(patient, section: str = "", record_id: int | None = None, field: str = "") -> str:
    params = {"patient": patient.study_id}
    if section:
        params["section"] = section
    if record_id is not None:
        params["record"] = record_id
    if field:
        params["field"] = field
    return f"{reverse('quality:query_new')}?{urlencode(params)}"


def list_url(patient) -> str:
    query = urlencode({"patient": patient.study_id, "status": "unresolved"})
    return f"{reverse('quality:query_list')}?{query}"


@register.inclusion_tag("quality/_marker.html")
def query_marker(markers, section="", record=None, field="", raise_link=True):
    """A "?" badge with the count of unresolved queries on one target, linking to the query
    (to the patient's list when there are several); for a data manager, a "raise query"
    link that opens the raise form with the target filled in."""
    if not isinstance(markers, Markers):
        return {}
    section, field = section or "", field or ""
    queries = markers.on(section, record, field)
    if len(queries) == 1:
        url = reverse("quality:query_detail", args=[queries[0].pk])
    else:
        url = list_url(markers.patient)
    record_id = Markers.record_id(section, record)
    return {
        "queries": queries,
        "count": len(queries),
        "url": url,
        "raise_url": raise_url(markers.patient, section, record_id, field)
        if raise_link and markers.can_raise
        else "",
        "field": field,
    }


@register.simple_tag
def section_query_count(markers, section: str) -> int:
    """All unresolved queries inside one part, for the casebook's list of parts."""
    return markers.per_section.get(section, 0) if isinstance(markers, Markers) else 0


@register.simple_tag
def casebook_queries_url(markers) -> str:
    return list_url(markers.patient) if isinstance(markers, Markers) else ""


@register.simple_tag
def raise_casebook_query_url(markers) -> str:
    """The raise form for a query on the whole casebook, for a data manager."""
    if not isinstance(markers, Markers) or not markers.can_raise:
        return ""
    return raise_url(markers.patient)


@register.simple_tag
def query_counts(patients) -> dict[int, int]:
    """Unresolved queries per patient of a page, in one query."""
    return selectors.unresolved_counts([p.pk for p in patients])


@register.filter
def query_count(counts, patient) -> int:
    return counts.get(patient.pk, 0) if isinstance(counts, dict) else 0


@register.simple_tag
def patient_queries_url(patient) -> str:
    return list_url(patient)


# -- source data verification ------------------------------------------------------------------
#
#     {% verification_marks patient as vm %}              one query for the whole casebook
#     {% verification_marker vm section record field %}   "✓" badge; for a data manager a
#                                                         "verify" button (field "": the part)


@register.simple_tag(takes_context=True)
def verification_marks(context, patient) -> VerificationMarks | None:
    """The casebook's valid verifications, and whether the reader may verify more."""
    if not patient or not getattr(patient, "pk", None):
        return None
    return VerificationMarks(
        patient=patient,
        targets=verifications.verified_targets(patient),
        can_verify=permissions.can_verify_source(context.get("user")),
    )


@register.inclusion_tag("quality/_verification_marker.html", takes_context=True)
def verification_marker(context, marks, section="", record=None, field="", verify=True):
    """A "✓" when the field (or, ``field`` empty, the part or record) is verified; else, for a
    data manager, a small form that verifies it and comes back to the casebook."""
    if not isinstance(marks, VerificationMarks) or not section or record is None:
        return {}
    field = field or ""
    record_id = Markers.record_id(section, record)
    verified = marks.verified(section, record_id, field)
    return {
        "verified": verified,
        "field": field,
        "form": verify and marks.can_verify and not verified,
        "action": reverse("quality:verification_mark", args=[marks.patient.study_id]),
        "section": section,
        "record_id": record_id,
        "whole": "record" if not field and record_id is not None else ("part" if not field else ""),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """The signed-in user's unread notifications, for the header's badge (one COUNT)."""
    from quality.notifications import unread_count

    return unread_count(context.get("user"))


@register.filter
def query_message_text(message) -> str:
    """A thread message as the reader sees it: the rules' messages in the active language."""
    return message_text(message.text, message.detail)


@register.filter
def audit_reason(event) -> str:
    """An audit event's reason as the reader sees it: the rules' raise and close of a query
    (written by nobody, the rule's code in the detail) in the active language; any other
    reason as stored. For the registry's history: ``{{ event|audit_reason }}``."""
    detail = getattr(event, "detail", None) or {}
    rule = detail.get("rule") or ""
    if not rule or getattr(event, "user_id", None) is not None:
        return event.reason
    action = getattr(event, "action", "")
    if action == AuditEvent.Action.QUERY_RAISE:
        code = f"{RULE_MESSAGE_PREFIX}{rule}"
    elif action == AuditEvent.Action.QUERY_CLOSE and event.reason == CLOSE_TEXT:
        code = RULE_CLOSED_CODE
    else:
        return event.reason
    return message_text(event.reason, {"message_code": code})


@register.inclusion_tag("quality/_print_queries.html")
def printable_queries(patient) -> dict:
    """Every query of the patient with its whole thread, oldest first, for the printable
    casebook (the caller has already scoped ``patient`` to the reader)."""
    queries = (
        Query.objects.filter(patient=patient)
        .select_related("raised_by")
        .prefetch_related("messages__author")
        .order_by("raised_at", "pk")
    )
    return {"queries": [(query, where_label(query)) for query in queries]}
