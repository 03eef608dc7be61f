"""Writes of the discrepancy workflow: raise, answer (with a correction), close, re-open.

Each service checks the role rule (``core.permissions``) and the centre scope (through
``queries_visible_to``), validates, runs in one transaction, keeps the thread message and
an ``AuditEvent`` in the patient's history. A correction made with an answer goes
through ``registry.services.crf_record_save``: the same validation, reason, audit and
lock rules as any edit, so a locked casebook must be unlocked before it is corrected.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import permissions
from core.errors import ApplicationError, ErrorCode, field_error
from quality import notifications
from quality.models import Query, QueryMessage, QueryStatus
from quality.selectors import queries_visible_to, target_record
from registry import services as registry_services
from registry.models import MODEL_BY_SECTION, REPEATING_SECTIONS, AuditEvent, Patient, User
from registry.selectors import patients_visible_to
from registry.services import CHANGE_REASON_MAX_LENGTH, REGISTRATION_EDITABLE

TEXT_MAX_LENGTH = 2000
# Columns that are bookkeeping, not study data: nobody is asked about them.
_NOT_QUERYABLE = frozenset({"id", "patient", "version", "created_at", "updated_at"})


def queryable_fields(section: str) -> list[str]:
    """The fields of one CRF part a query may name (registration: its editable fields)."""
    model = MODEL_BY_SECTION[section]
    if model is Patient:
        return list(REGISTRATION_EDITABLE)
    return [f.name for f in model._meta.fields if f.editable and f.name not in _NOT_QUERYABLE]


def value_as_text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _clean_text(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise field_error("text", _("Write the question or answer."))
    if len(text) > TEXT_MAX_LENGTH:
        raise field_error("text", _("At most %(n)d characters.") % {"n": TEXT_MAX_LENGTH})
    return text


def validated_target(patient: Patient, section: str, record_id: int | None, field: str):
    """The record a query is about (None for the casebook or an empty part), validated."""
    if not section:
        if field or record_id is not None:
            raise field_error("section", _("Name the part the field or record belongs to."))
        return None
    if section not in MODEL_BY_SECTION:
        raise field_error("section", _("Unknown part %(part)r.") % {"part": section})
    if field and field not in queryable_fields(section):
        raise field_error(
            "field", _("%(field)r is not a field of %(part)s.") % {"field": field, "part": section}
        )
    repeating = section in REPEATING_SECTIONS
    if MODEL_BY_SECTION[section] is Patient and record_id is not None:
        raise field_error("record", _("The registration has no records to choose from."))
    if repeating and record_id is None and field:
        raise field_error("record", _("Name the record of this repeating part."))
    if not repeating and record_id is not None:
        raise field_error(
            "record", _("%(part)s holds one record; leave the record out.") % {"part": section}
        )
    record = target_record(patient, section, record_id)
    if record is None and repeating and record_id is not None:
        raise field_error(
            "record",
            _("No record %(id)s in %(part)s of %(patient)s.")
            % {"id": record_id, "part": section, "patient": patient},
        )
    if record is None and field:
        raise field_error(
            "field", _("%(part)s has no data yet; raise the query on the part.") % {"part": section}
        )
    return record


def _audit(user: User | None, query: Query, action: str, text: str, **detail) -> None:
    AuditEvent.objects.create(
        user=user,
        patient_id=query.patient_id,
        action=action,
        detail={
            "query": query.pk,
            "section": query.section,
            "id": query.record_id,
            "field": query.field,
            **detail,
        },
        reason=text,
    )


def query_raise(
    *,
    user: User,
    patient: Patient,
    text: str,
    section: str = "",
    record_id: int | None = None,
    field: str = "",
) -> Query:
    """Open a query on a field, a part (``field`` empty) or the casebook (``section`` empty)."""
    if not permissions.can_review_queries(user):
        raise ApplicationError(
            _("Only a data manager may raise a query."), code=ErrorCode.FORBIDDEN
        )
    if not patients_visible_to(user).filter(pk=patient.pk).exists():
        raise ApplicationError(_("No such patient."), code=ErrorCode.NOT_FOUND)
    text = _clean_text(text, required=True)
    with transaction.atomic():
        record = validated_target(patient, section, record_id, field)
        value = ""
        if field and record is not None and field not in type(record).identifier_fields:
            # An identifier's value is not copied into the query: a data manager may not see it.
            value = value_as_text(getattr(record, field))
        query = Query.objects.create(
            patient=patient,
            section=section,
            record_id=record_id if section in REPEATING_SECTIONS else None,
            field=field,
            value_at_raise=value,
            raised_by=user,
        )
        QueryMessage.objects.create(
            query=query, kind=QueryMessage.Kind.RAISE, author=user, text=text, at=query.raised_at
        )
        _audit(user, query, AuditEvent.Action.QUERY_RAISE, text)
        notifications.notify_query_opened(query)
    return query


def _locked_query(user: User, query_id: int) -> Query:
    query = queries_visible_to(user).select_for_update(of=("self",)).filter(pk=query_id).first()
    if query is None:
        raise ApplicationError(_("No such query."), code=ErrorCode.NOT_FOUND)
    return query


def query_answer(
    *,
    user: User,
    query_id: int,
    text: str = "",
    correct: bool = False,
    value: Any = None,
    expected_version: int | None = None,
) -> Query:
    """The site answers an open query, with a message, a corrected value, or both."""
    text = _clean_text(text, required=not correct)
    with transaction.atomic():
        query = _locked_query(user, query_id)
        if not permissions.can_answer_query(user, query.patient):
            raise ApplicationError(
                _("Queries are answered by the site staff of the patient's centre."),
                code=ErrorCode.FORBIDDEN,
            )
        if query.status != QueryStatus.OPEN:
            raise ApplicationError(
                _("Query %(id)s is %(status)s; only an open query can be answered.")
                % {"id": query.pk, "status": query.get_status_display().lower()}
            )
        detail: dict[str, Any] = {}
        if correct:
            detail["correction"] = _correct(user, query, value, expected_version, text)
        now = timezone.now()
        query.status = QueryStatus.ANSWERED
        query.answered_at = now
        query.save(update_fields=["status", "answered_at"])
        QueryMessage.objects.create(
            query=query,
            kind=QueryMessage.Kind.ANSWER,
            author=user,
            text=text,
            at=now,
            detail=detail,
        )
        _audit(user, query, AuditEvent.Action.QUERY_ANSWER, text, correction=bool(detail))
        notifications.notify_query_answered(query)
    return query


EMPTY_CORRECTION = gettext_lazy(
    "A correction gives a value. If the value is not available, give a missing-data code "
    "(not done, unknown, not applicable) on the form instead."
)


def _correct(user: User, query: Query, value: Any, expected_version: int | None, text: str):
    """Save the corrected value through the registry's own service; returns what changed."""
    if not query.field:
        raise field_error("value", _("This query is about a whole part: correct it on the form."))
    if expected_version is None:
        raise field_error("version", _("Send the version of the record you corrected."))
    record = validated_target(query.patient, query.section, query.record_id, query.field)
    if value in (None, "") and query.field in getattr(record, "codable_fields", ()):
        raise field_error("value", EMPTY_CORRECTION)
    old = getattr(record, query.field)
    reason = f"Query {query.pk}: {text}" if text else f"Query {query.pk}"
    saved = registry_services.crf_record_save(
        user=user,
        patient=query.patient,
        section=query.section,
        data={query.field: value},
        record_id=query.record_id,
        expected_version=expected_version,
        reason=reason[:CHANGE_REASON_MAX_LENGTH],
    )
    saved.refresh_from_db(fields=[query.field])  # the value as stored, e.g. 56 kg as 56.0
    secret = query.field in type(saved).identifier_fields
    return {
        "field": query.field,
        "old": None if secret else value_as_text(old),
        "new": None if secret else value_as_text(getattr(saved, query.field)),
        "version": saved.version,
    }


def query_close(*, user: User, query_id: int, text: str = "") -> Query:
    """A data manager accepts the answer (or withdraws the question)."""
    return _review(user, query_id, text, close=True)


def query_reopen(*, user: User, query_id: int, text: str) -> Query:
    """A data manager sends an answered or closed query back to the site, saying why."""
    return _review(user, query_id, text, close=False)


def _review(user: User, query_id: int, text: str, *, close: bool) -> Query:
    """The data manager's two steps: close (note optional) or re-open (reason required)."""
    if not permissions.can_review_queries(user):
        refusal = (
            _("Only a data manager may close a query.")
            if close
            else _("Only a data manager may re-open a query.")
        )
        raise ApplicationError(refusal, code=ErrorCode.FORBIDDEN)
    text = _clean_text(text, required=not close)
    with transaction.atomic():
        query = _locked_query(user, query_id)
        if close and query.status == QueryStatus.CLOSED:
            raise ApplicationError(_("Query %(id)s is already closed.") % {"id": query.pk})
        if not close and query.status == QueryStatus.OPEN:
            raise ApplicationError(_("Query %(id)s is open already.") % {"id": query.pk})
        now = timezone.now()
        query.status = QueryStatus.CLOSED if close else QueryStatus.OPEN
        query.closed_at = now if close else None
        query.closed_by = user if close else None
        query.save(update_fields=["status", "closed_at", "closed_by"])
        kind = QueryMessage.Kind.CLOSE if close else QueryMessage.Kind.REOPEN
        QueryMessage.objects.create(query=query, kind=kind, author=user, text=text, at=now)
        action = AuditEvent.Action.QUERY_CLOSE if close else AuditEvent.Action.QUERY_REOPEN
        _audit(user, query, action, text)
        if not close:
            notifications.notify_query_opened(query, reopened=True)
    return query
