"""Writes. Every change to study data goes through a function here.

Each service is keyword-only, checks who may do it and to which centre, refuses
locked casebooks, validates (model ``clean`` plus the cross-part rules), runs in
one transaction, and leaves an audit trail: field history with user and reason
(django-simple-history) and an ``AuditEvent`` for workflow actions. Views, API
views, admin actions and commands call these and never save models themselves.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core import permissions
from core.errors import ApplicationError, ErrorCode, field_error
from registry import choices as c
from registry import rules, signals
from registry.casebook import SECTION_ATTR, load_casebook, section_records
from registry.models import (
    MODEL_BY_SECTION,
    REPEATING_SECTIONS,
    AuditEvent,
    CasebookRecord,
    Center,
    Patient,
    SectionCompletion,
    Signature,
    SignatureVoid,
    User,
)
from registry.selectors import patients_visible_to

# The statement a signer confirms, in English; signature_statement() gives it in the
# signer's language, and the signature stores the words that were shown and signed.
SIGNATURE_MEANING = gettext_noop(
    "I confirm that I have reviewed this casebook and that its data are complete and "
    "accurate to the best of my knowledge. This electronic signature is the legally "
    "binding equivalent of my handwritten signature."
)
REGISTRATION_EDITABLE = (
    "mrn",
    "initials",
    "date_of_birth",
    "sex",
    "registration_date",
    "notes",
    *Patient.inclusion_fields,
    *Patient.exclusion_fields,
)


# django-simple-history keeps the change reason in a varchar(100) column.
CHANGE_REASON_MAX_LENGTH = 100


def signature_statement() -> str:
    """The signature statement in the active language (what the sign page shows)."""
    return _(SIGNATURE_MEANING)


def signature_statements() -> set[str]:
    """The statement in each of the registry's languages: a signer confirms the one shown."""
    statements = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            statements.add(signature_statement())
    return statements


def _check_reason_length(reason: str) -> None:
    if len(reason) > CHANGE_REASON_MAX_LENGTH:
        message = _("At most %(limit)s characters.") % {"limit": CHANGE_REASON_MAX_LENGTH}
        raise field_error("reason", message)


def _field_errors(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            name: [m for e in errs for m in e.messages] for name, errs in error.error_dict.items()
        }
    return {"__all__": list(error.messages)}


def _invalid(fields: dict[str, list[str]]) -> ApplicationError:
    first_field, messages = next(iter(fields.items()))
    if first_field == "__all__":
        return ApplicationError(str(messages[0]), fields=fields)
    return ApplicationError(
        _("%(field)s: %(message)s") % {"field": first_field, "message": messages[0]},
        fields=fields,
    )


def _require_crf_editor(user: User) -> None:
    if not permissions.can_edit_crf(user):
        raise ApplicationError(
            _("Your role (%(role)s) may read but not change CRF data.")
            % {"role": user.get_role_display()},
            code=ErrorCode.FORBIDDEN,
        )


def _lock_patient_row(user: User, patient: Patient) -> Patient:
    """Re-read the patient under a row lock, through the centre scope."""
    try:
        locked = patients_visible_to(user).select_for_update(of=("self",)).get(pk=patient.pk)
    except Patient.DoesNotExist:
        raise ApplicationError(_("No such patient."), code=ErrorCode.NOT_FOUND) from None
    if locked.is_locked:
        raise ApplicationError(
            _("Casebook %(study_id)s is locked and read-only; a data manager must unlock it.")
            % {"study_id": locked.study_id},
            code=ErrorCode.LOCKED,
        )
    return locked


def _stale_message(record) -> str:
    latest = record.history.order_by("-history_date").first()
    if latest is None:
        return _("This form was changed by someone else; reload it and enter your change again.")
    who = latest.history_user or _("another user")
    when = date_format(timezone.localtime(latest.history_date), "DATETIME_FORMAT")
    return _(
        "This form was changed by %(who)s at %(when)s; reload it and enter your change again."
    ) % {"who": who, "when": when}


def _set_audit_context(record, user: User, reason: str) -> None:
    record._history_user = user
    record._change_reason = reason or None


def _announce_change(
    patient: Patient, section: str, record_id: int, fields: list[str], *, deleted: bool = False
) -> None:
    """Tell listeners, once the write has committed, what changed in the casebook."""
    if not fields and not deleted:
        return
    transaction.on_commit(
        lambda: signals.casebook_changed.send(
            sender=Patient,
            patient=patient,
            section=section,
            record_id=record_id,
            fields=fields,
            deleted=deleted,
        )
    )
    _announce_saved(patient)


def _announce_saved(patient: Patient) -> None:
    """Tell listeners once the transaction commits that the casebook was saved.

    Once per patient and transaction: a casebook entered part by part in one block (as
    seed_demo does) is re-checked once, not once per part. The pending callbacks are the
    connection's own list, which a rollback empties, so nothing is left behind.
    """
    pending = connection.run_on_commit
    if any(getattr(func, "saved_patient_id", None) == patient.pk for _, func, _ in pending):
        return

    def announce_saved() -> None:
        signals.casebook_saved.send(sender=Patient, patient=patient)

    announce_saved.saved_patient_id = patient.pk
    transaction.on_commit(announce_saved)


def _changed_fields(before: dict[str, Any], record) -> list[str]:
    """Names whose value now differs from ``before`` (values as validated, e.g. Decimal)."""
    return sorted(name for name, old in before.items() if getattr(record, name) != old)


def _demote_if_complete(patient: Patient, *, user: User, section: str, reason: str) -> None:
    # A change to a complete (not locked) casebook must be re-confirmed before locking. The
    # status change is an event of the history, naming the part whose change caused it.
    if patient.casebook_status == c.CasebookStatus.COMPLETE:
        Patient.objects.filter(pk=patient.pk).update(casebook_status=c.CasebookStatus.IN_PROGRESS)
        patient.casebook_status = c.CasebookStatus.IN_PROGRESS
        AuditEvent.objects.create(
            user=user,
            patient=patient,
            action=AuditEvent.Action.CASEBOOK_REOPENED,
            reason=reason,
            detail={"section": str(section)},
        )


def _require_reason_if_completed(patient: Patient, section: str, reason: str) -> None:
    completed = SectionCompletion.objects.filter(patient=patient, section=section).exists()
    if completed and not reason.strip():
        raise ApplicationError(
            _("reason: this part was marked complete; give a reason for the change."),
            fields={"reason": [_("This part was marked complete; give a reason for the change.")]},
        )


def _validate_record(patient: Patient, record, exclude: tuple[str, ...] = ()) -> None:
    try:
        record.full_clean(exclude=["patient", *exclude])
    except ValidationError as error:
        raise _invalid(_field_errors(error)) from None
    book = load_casebook(patient)
    _substitute(book, record)
    errors = rules.violations_for(book, record)
    if errors:
        raise _invalid(errors)


def _substitute(book, record) -> None:
    """Put the unsaved ``record`` into the casebook snapshot in place of its stored self."""
    if isinstance(record, Patient):
        book.patient = record
        return
    attr = SECTION_ATTR[record.section]
    if record.section in REPEATING_SECTIONS:
        rows = [r for r in getattr(book, attr) if r.pk != record.pk or record.pk is None]
        setattr(book, attr, [*rows, record])
    else:
        setattr(book, attr, record)


# -- registration ---------------------------------------------------------------------------


def patient_register(*, user: User, center: Center | None = None, data: dict[str, Any]) -> Patient:
    """Register a screened patient; an ineligible one is recorded as a screen failure."""
    _require_crf_editor(user)
    if permissions.is_site_staff(user):
        if center is not None and center.pk != user.center_id:
            raise _own_centre_only()
        center = user.center
    if center is None:
        raise ApplicationError(
            _("center: choose the patient's centre."), fields={"center": [_("Required.")]}
        )
    unknown = set(data) - set(REGISTRATION_EDITABLE)
    if unknown:
        raise ApplicationError(
            _("%(field)s: not a registration field.") % {"field": sorted(unknown)[0]}
        )
    with transaction.atomic():
        # Serialise sequence numbers per centre: the row lock makes max()+1 safe.
        Center.objects.select_for_update().get(pk=center.pk)
        last = Patient.objects.filter(center=center).aggregate(m=Max("sequence"))["m"] or 0
        patient = Patient(center=center, sequence=last + 1, **data)
        patient.study_id = f"{center.code}-{patient.sequence:04d}"
        failed = patient.failed_criterion()
        patient.enrolment_status = (
            c.EnrolmentStatus.SCREEN_FAILURE if failed else c.EnrolmentStatus.ENROLLED
        )
        patient.screen_failure_reason = failed
        try:
            patient.full_clean(exclude=["center"])
        except ValidationError as error:
            raise _invalid(_field_errors(error)) from None
        _validate_registration_rules(patient)
        _set_audit_context(patient, user, "Registered")
        try:
            patient.save()
        except IntegrityError:
            raise _mrn_taken() from None
        AuditEvent.objects.create(
            user=user,
            patient=patient,
            action=AuditEvent.Action.SCREEN_FAIL if failed else AuditEvent.Action.REGISTER,
            detail={"study_id": patient.study_id, "failed_criterion": failed},
        )
    return patient


def _own_centre_only() -> ApplicationError:
    return ApplicationError(
        _("center: you can register patients at your own centre only."),
        code=ErrorCode.FORBIDDEN,
        fields={"center": [_("You can register patients at your own centre only.")]},
    )


def _mrn_taken() -> ApplicationError:
    return ApplicationError(
        _("mrn: a patient with this MRN is already registered at this centre."),
        fields={"mrn": [_("A patient with this MRN is already registered at this centre.")]},
    )


def _validate_registration_rules(patient: Patient) -> None:
    from registry.casebook import Casebook

    errors = rules.violations_for(Casebook(patient=patient), patient)
    if errors:
        raise _invalid(errors)


def _registration_update(
    *, user: User, patient: Patient, data: dict[str, Any], expected_version: int | None, reason: str
) -> Patient:
    if patient.enrolment_status == c.EnrolmentStatus.SCREEN_FAILURE:
        raise ApplicationError(
            _("A screen failure's registration is final; register the patient again if rescreened.")
        )
    unknown = set(data) - set(REGISTRATION_EDITABLE)
    if unknown:
        raise ApplicationError(
            _("%(field)s: not an editable registration field.") % {"field": sorted(unknown)[0]}
        )
    if expected_version is not None and expected_version != patient.version:
        raise ApplicationError(_stale_message(patient), code=ErrorCode.STALE)
    _require_reason_if_completed(patient, c.Section.REGISTRATION, reason)
    before = {name: getattr(patient, name) for name in data}
    for name, value in data.items():
        setattr(patient, name, value)
    failed = patient.failed_criterion()
    if failed:
        message = _("An enrolled patient must stay eligible: %(criterion)s.") % {
            "criterion": failed
        }
        raise ApplicationError(message, fields={_criterion_field(patient): [message]})
    try:
        patient.full_clean(exclude=["center"])
    except ValidationError as error:
        raise _invalid(_field_errors(error)) from None
    _validate_record(patient, patient, exclude=["center"])
    patient.version += 1
    _demote_if_complete(patient, user=user, section=c.Section.REGISTRATION, reason=reason)
    _set_audit_context(patient, user, reason)
    try:
        # A savepoint, so the refusal leaves the caller's transaction usable (PostgreSQL).
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # full_clean skips the (centre, MRN) constraint because the centre is excluded.
        raise _mrn_taken() from None
    _announce_change(patient, c.Section.REGISTRATION, patient.pk, _changed_fields(before, patient))
    return patient


def _criterion_field(patient: Patient) -> str:
    for name in patient.inclusion_fields:
        if getattr(patient, name) is not True:
            return name
    for name in patient.exclusion_fields:
        if getattr(patient, name) is not False:
            return name
    return "__all__"


# -- CRF parts ------------------------------------------------------------------------------


def crf_record_save(
    *,
    user: User,
    patient: Patient,
    section: str,
    data: dict[str, Any],
    record_id: int | None = None,
    expected_version: int | None = None,
    reason: str = "",
):
    """Create or update one CRF record of ``section``.

    Single parts (baseline, first line, second line) are created once and then updated;
    repeating parts are created without ``record_id`` and updated with it. An update must
    carry the version the user read (``expected_version``): a stale one is refused.
    """
    _require_crf_editor(user)
    _check_reason_length(reason)
    if section not in MODEL_BY_SECTION:
        raise _unknown_part(section)
    with transaction.atomic():
        patient = _lock_patient_row(user, patient)
        if section == c.Section.REGISTRATION:
            return _registration_update(
                user=user,
                patient=patient,
                data=data,
                expected_version=expected_version,
                reason=reason,
            )
        if patient.enrolment_status != c.EnrolmentStatus.ENROLLED:
            raise ApplicationError(_("A screen failure has no casebook to fill."))
        model: type[CasebookRecord] = MODEL_BY_SECTION[section]
        editable = {
            f.name for f in model._meta.fields if f.editable and f.name not in ("id", "patient")
        }
        unknown = set(data) - editable
        if unknown:
            raise ApplicationError(
                _("%(field)s: not a field of %(part)s.")
                % {"field": sorted(unknown)[0], "part": c.Section(section).label}
            )
        record = _existing_record(model, patient, section, record_id)
        if record is None:
            record = model(patient=patient)
        elif expected_version is None or expected_version != record.version:
            raise ApplicationError(_stale_message(record), code=ErrorCode.STALE)
        if record.pk is not None or section in REPEATING_SECTIONS:
            _require_reason_if_completed(patient, section, reason)
        data = _with_missing_codes(record, data)
        before = {name: getattr(record, name) for name in data} if record.pk else None
        for name, value in data.items():
            setattr(record, name, value)
        _validate_record(patient, record)
        if record.pk is not None:
            # The row is held by select_for_update, so a plain increment cannot race.
            record.version += 1
        _set_audit_context(record, user, reason)
        try:
            record.save()
        except IntegrityError:
            # A uniqueness constraint that full_clean skipped because it involves the patient.
            raise _duplicate(record) from None
        if section == c.Section.ADVERSE_EVENTS and patient.no_adverse_events:
            # The reason is stored in the history, which keeps English like every stored code.
            _set_no_adverse_events(user, patient, False, "an adverse event was recorded")
        _demote_if_complete(patient, user=user, section=section, reason=reason)
        changed = sorted(data) if before is None else _changed_fields(before, record)
        _announce_change(patient, section, record.pk, _coded_fields_named(changed, before, record))
    return record


def _with_missing_codes(record: CasebookRecord, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its missing-data codes checked for shape and their comments trimmed.

    Without ``missing_codes`` in ``data``, a field given a value loses its stored code, so
    entering the value that was once unknown needs no second step. With it, the codes
    given replace the stored ones.
    """
    if "missing_codes" not in data:
        stored = dict(record.missing_codes or {})
        kept = {name: entry for name, entry in stored.items() if data.get(name) in (None, "")}
        return {**data, "missing_codes": kept} if kept != stored else data
    codes = data["missing_codes"]
    if codes is None:
        codes = {}
    if not isinstance(codes, dict):
        return data  # the model's validation refuses it, naming missing_codes
    trimmed = {}
    for name, entry in codes.items():
        if isinstance(entry, dict) and isinstance(entry.get("comment"), str):
            entry = {**entry, "comment": entry["comment"].strip()}
        trimmed[name] = entry
    return {**data, "missing_codes": trimmed}


def _coded_fields_named(changed: list[str], before: dict | None, record) -> list[str]:
    """The changed field names, with a change of ``missing_codes`` told as the fields whose
    code changed (a verification of that field must drop, a query on it must see it)."""
    if "missing_codes" not in changed:
        return changed
    old = (before or {}).get("missing_codes") or {}
    new = record.missing_codes or {}
    coded = {name for name in set(old) | set(new) if old.get(name) != new.get(name)}
    return sorted((set(changed) - {"missing_codes"}) | coded)


def _set_no_adverse_events(user: User, patient: Patient, value: bool, reason: str) -> None:
    patient.no_adverse_events = value
    patient.version += 1
    _set_audit_context(patient, user, reason)
    patient.save(update_fields=["no_adverse_events", "version", "updated_at"])


def adverse_events_none_confirm(
    *, user: User, patient: Patient, confirmed: bool = True, reason: str = ""
) -> Patient:
    """Confirm (or withdraw) that no adverse event occurred: the adverse-event part can then
    be complete with no records. Refused while adverse events are recorded."""
    _require_crf_editor(user)
    _check_reason_length(reason)
    with transaction.atomic():
        patient = _lock_patient_row(user, patient)
        if patient.enrolment_status != c.EnrolmentStatus.ENROLLED:
            raise ApplicationError(_("A screen failure has no casebook to fill."))
        if patient.no_adverse_events == confirmed:
            return patient
        if confirmed and patient.adverse_events.exists():
            raise _adverse_events_recorded()
        _require_reason_if_completed(patient, c.Section.ADVERSE_EVENTS, reason)
        _set_no_adverse_events(user, patient, confirmed, reason)
        _demote_if_complete(patient, user=user, section=c.Section.ADVERSE_EVENTS, reason=reason)
        # Registration-level data, no CRF record: the rules re-run, no verification drops.
        _announce_saved(patient)
    return patient


def _adverse_events_recorded() -> ApplicationError:
    return field_error(
        "no_adverse_events",
        _("Adverse events are recorded for this patient; delete them first if none occurred."),
    )


def _unknown_part(section: str) -> ApplicationError:
    return ApplicationError(_("section: unknown part %(part)r.") % {"part": section})


def _duplicate(record) -> ApplicationError:
    if record.section == c.Section.ASSESSMENTS:
        message = _("An assessment of this line on this date is already recorded.")
        return field_error("assessment_date", message)
    return ApplicationError(_("This record is already entered."))


def _existing_record(model, patient: Patient, section: str, record_id: int | None):
    if section in REPEATING_SECTIONS:
        if record_id is None:
            return None
        try:
            return model.objects.select_for_update().get(pk=record_id, patient=patient)
        except model.DoesNotExist:
            raise ApplicationError(_("No such record."), code=ErrorCode.NOT_FOUND) from None
    existing = model.objects.select_for_update().filter(patient=patient).first()
    if existing is None and record_id is not None:
        raise ApplicationError(_("No such record."), code=ErrorCode.NOT_FOUND)
    return existing


def crf_record_delete(
    *,
    user: User,
    patient: Patient,
    section: str,
    record_id: int,
    expected_version: int,
    reason: str,
) -> None:
    """Delete one repeating record (assessment, AE, follow-up); always needs a reason."""
    _require_crf_editor(user)
    if section not in REPEATING_SECTIONS:
        raise ApplicationError(
            _("section: records of %(part)r cannot be deleted, only edited.") % {"part": section}
        )
    if not reason.strip():
        raise ApplicationError(
            _("reason: give a reason for the deletion."),
            fields={"reason": [_("Required for deletion.")]},
        )
    _check_reason_length(reason)
    with transaction.atomic():
        patient = _lock_patient_row(user, patient)
        model = MODEL_BY_SECTION[section]
        record = _existing_record(model, patient, section, record_id)
        if expected_version != record.version:
            raise ApplicationError(_stale_message(record), code=ErrorCode.STALE)
        book = load_casebook(patient)
        remaining = [r for r in getattr(book, SECTION_ATTR[section]) if r.pk != record.pk]
        setattr(book, SECTION_ATTR[section], remaining)
        dangling = [v for v in rules.casebook_violations(book) if v.record is not record]
        if dangling:
            first = dangling[0]
            label = first.record._meta.get_field(first.field).verbose_name
            raise ApplicationError(
                _("Cannot delete: %(record)s: %(field)s %(message)s")
                % {"record": first.record, "field": label, "message": first.message}
            )
        AuditEvent.objects.create(
            user=user,
            patient=patient,
            action=AuditEvent.Action.DELETE,
            reason=reason,
            detail={"section": section, "record": str(record), "id": record.pk},
        )
        _set_audit_context(record, user, reason)
        deleted_id = record.pk
        record.delete()
        _demote_if_complete(patient, user=user, section=section, reason=reason)
        _announce_change(patient, section, deleted_id, [], deleted=True)


# -- completion, signature, lock ------------------------------------------------------------


def _section_problems(book, section: str) -> list[str]:
    """What keeps ``section`` from being complete: missing data or a broken rule."""
    problems: list[str] = []
    required = {
        c.Section.BASELINE: book.baseline,
        c.Section.FIRST_LINE: book.first_line,
        c.Section.SECOND_LINE: book.second_line,
        c.Section.FOLLOW_UP: book.follow_ups,
    }
    if section in required and not required[section]:
        problems.append(_("%(part)s: not entered.") % {"part": c.Section(section).label})
    if (
        section == c.Section.ADVERSE_EVENTS
        and not book.adverse_events
        and not book.patient.no_adverse_events
    ):
        problems.append(
            _(
                "Adverse events: none recorded. Record them, or confirm that no adverse events "
                "occurred."
            )
        )
    if section == c.Section.ASSESSMENTS:
        first_line = [a for a in book.assessments if a.line == c.TreatmentLine.FIRST]
        if len(first_line) < 2:
            problems.append(
                _(
                    "Tumour assessments: a 1L baseline and at least one later 1L assessment are "
                    "needed to derive the depth of response."
                )
            )
    section_records = {
        c.Section.REGISTRATION: [book.patient],
        c.Section.BASELINE: [book.baseline],
        c.Section.FIRST_LINE: [book.first_line],
        c.Section.SECOND_LINE: [book.second_line],
        c.Section.ASSESSMENTS: book.assessments,
        c.Section.ADVERSE_EVENTS: book.adverse_events,
        c.Section.FOLLOW_UP: book.follow_ups,
    }[section]
    records = {id(r) for r in section_records if r is not None}
    for violation in rules.casebook_violations(book):
        if id(violation.record) in records:
            label = violation.record._meta.get_field(violation.field).verbose_name
            problems.append(
                _("%(record)s: %(field)s %(message)s")
                % {"record": violation.record, "field": label, "message": violation.message}
            )
    return problems


def section_mark_complete(*, user: User, patient: Patient, section: str) -> SectionCompletion:
    """Mark one part complete; from then on every change to it needs a reason."""
    _require_crf_editor(user)
    if section not in c.Section.values:
        raise _unknown_part(section)
    with transaction.atomic():
        patient = _lock_patient_row(user, patient)
        if patient.enrolment_status != c.EnrolmentStatus.ENROLLED:
            raise ApplicationError(_("A screen failure has no casebook to complete."))
        book = load_casebook(patient)
        problems = _section_problems(book, section)
        if problems:
            raise ApplicationError(problems[0], fields={"__all__": problems})
        completion, created = SectionCompletion.objects.get_or_create(
            patient=patient,
            section=section,
            defaults={"completed_at": timezone.now(), "completed_by": user},
        )
        if created:
            AuditEvent.objects.create(
                user=user,
                patient=patient,
                action=AuditEvent.Action.SECTION_COMPLETE,
                detail={"section": section},
            )
    return completion


def casebook_mark_complete(*, user: User, patient: Patient) -> Patient:
    """Mark every part complete and the casebook ready to sign; refuses while anything fails."""
    _require_crf_editor(user)
    with transaction.atomic():
        patient = _lock_patient_row(user, patient)
        if patient.enrolment_status != c.EnrolmentStatus.ENROLLED:
            raise ApplicationError(_("A screen failure has no casebook to complete."))
        book = load_casebook(patient)
        problems = [p for section in c.Section.values for p in _section_problems(book, section)]
        if problems:
            raise ApplicationError(
                _("The casebook is not complete: %(problem)s") % {"problem": problems[0]},
                fields={"__all__": problems},
            )
        now = timezone.now()
        for section in c.Section.values:
            SectionCompletion.objects.get_or_create(
                patient=patient,
                section=section,
                defaults={"completed_at": now, "completed_by": user},
            )
        Patient.objects.filter(pk=patient.pk).update(casebook_status=c.CasebookStatus.COMPLETE)
        patient.casebook_status = c.CasebookStatus.COMPLETE
        AuditEvent.objects.create(
            user=user, patient=patient, action=AuditEvent.Action.CASEBOOK_COMPLETE
        )
        transaction.on_commit(
            lambda: signals.casebook_completed.send(sender=Patient, patient=patient, user=user)
        )
    return patient


def casebook_lock(*, user: User, patient: Patient, password: str, meaning: str) -> Signature:
    """Sign and lock a complete casebook: password re-entry and the signature statement."""
    if not permissions.can_lock(user):
        raise ApplicationError(
            _("Only a site investigator or a data manager may sign and lock a casebook."),
            code=ErrorCode.FORBIDDEN,
        )
    if not patients_visible_to(user).filter(pk=patient.pk).exists():
        # Before the password check, so a refused attempt on another centre's casebook is
        # answered as absent and leaves no audit row pointing at it.
        raise ApplicationError(_("No such patient."), code=ErrorCode.NOT_FOUND)
    meaning = meaning.strip()
    if meaning not in signature_statements():
        raise ApplicationError(
            _("meaning: confirm the signature statement exactly as shown."),
            fields={"meaning": [_("Confirm the signature statement exactly as shown.")]},
        )
    if not user.check_password(password):
        AuditEvent.objects.create(
            user=user,
            patient=patient,
            action=AuditEvent.Action.LOCK_REFUSED,
            detail={"why": "wrong password"},
        )
        raise ApplicationError(
            _("password: the password is not correct."),
            code=ErrorCode.FORBIDDEN,
            fields={"password": [_("The password is not correct.")]},
        )
    with transaction.atomic():
        patient = _lock_patient_row(user, patient)
        if patient.casebook_status != c.CasebookStatus.COMPLETE:
            raise ApplicationError(
                _("Only a complete casebook can be locked: mark it complete first.")
            )
        blockers = [
            reason
            for _receiver, reasons in signals.casebook_lock_blockers.send(
                sender=Patient, patient=patient
            )
            for reason in reasons
        ]
        if blockers:
            raise ApplicationError(
                _("Casebook %(study_id)s cannot be locked yet: %(blockers)s")
                % {"study_id": patient.study_id, "blockers": "; ".join(map(str, blockers))},
                fields={"__all__": blockers},
            )
        if Signature.objects.filter(patient=patient).valid().exists():
            # The status machine makes this unreachable; the database no longer can (a void
            # is a row of its own), so the service keeps one standing signature per casebook.
            raise ApplicationError(_("The casebook already carries a valid signature."))
        now = timezone.now()
        signature = Signature.objects.create(
            patient=patient, signed_by=user, signed_at=now, meaning=meaning
        )
        Patient.objects.filter(pk=patient.pk).update(
            casebook_status=c.CasebookStatus.LOCKED, version=F("version") + 1
        )
        patient.refresh_from_db()
        signals.casebook_lock_changed.send(sender=Patient, patient_ids=[patient.pk])
        event = AuditEvent.objects.create(
            user=user,
            patient=patient,
            action=AuditEvent.Action.LOCK,
            detail={"signature_id": signature.pk, "signed_at": now.isoformat()},
        )
        transaction.on_commit(
            lambda: signals.casebook_locked.send(
                sender=Patient, patient=patient, user=user, event=event
            )
        )
    return signature


def casebook_unlock(*, user: User, patient: Patient, reason: str) -> Patient:
    """Unlock for correction (data manager, with a reason); the signature is voided."""
    if not permissions.can_unlock(user):
        raise ApplicationError(
            _("Only a data manager may unlock a casebook."), code=ErrorCode.FORBIDDEN
        )
    if not reason.strip():
        raise ApplicationError(
            _("reason: give the reason for unlocking."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        try:
            patient = patients_visible_to(user).select_for_update(of=("self",)).get(pk=patient.pk)
        except Patient.DoesNotExist:
            raise ApplicationError(_("No such patient."), code=ErrorCode.NOT_FOUND) from None
        if not patient.is_locked:
            raise ApplicationError(_("The casebook is not locked."))
        now = timezone.now()
        # The signature row stays as signed; its withdrawal is a row of its own.
        SignatureVoid.objects.bulk_create(
            SignatureVoid(signature=signature, voided_by=user, voided_at=now, reason=reason)
            for signature in Signature.objects.filter(patient=patient).valid()
        )
        Patient.objects.filter(pk=patient.pk).update(
            casebook_status=c.CasebookStatus.COMPLETE, version=F("version") + 1
        )
        patient.refresh_from_db()
        signals.casebook_lock_changed.send(sender=Patient, patient_ids=[patient.pk])
        event = AuditEvent.objects.create(
            user=user, patient=patient, action=AuditEvent.Action.UNLOCK, reason=reason
        )
        transaction.on_commit(
            lambda: signals.casebook_unlocked.send(
                sender=Patient, patient=patient, user=user, event=event
            )
        )
    return patient


def audit_trail_export_record(*, user: User, filters: dict[str, str]) -> AuditEvent:
    """Record that ``user`` took the audit trail out of the registry, with the filters used:
    an inspector can see who read the trail and what they asked for (issue 13)."""
    return AuditEvent.objects.create(
        user=user,
        action=AuditEvent.Action.AUDIT_EXPORT,
        detail={"filters": {name: value for name, value in filters.items() if value}},
    )


# -- many new casebooks at once (imports) -----------------------------------------------------


def _bulk_validate(book) -> None:
    """The services' validation of one unsaved casebook: each record, then the cross-part
    rules. Uniqueness and check constraints are left to the database, which refuses them
    on insert (one query per record here would cost more than the whole insert)."""
    patient = book.patient
    records = [patient, *(r for s in SECTION_ATTR for r in section_records(book, s))]
    for record in records:
        try:
            record.full_clean(
                exclude=["patient", "center", "study_id", "sequence"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            fields = _field_errors(error)
            name, messages = next(iter(fields.items()))
            raise ApplicationError(
                _("%(record)s of %(study_id)s: %(field)s: %(message)s")
                % {
                    "record": record._meta.verbose_name,
                    "study_id": patient.study_id,
                    "field": name,
                    "message": messages[0],
                },
                fields=fields,
            ) from None
    violations = rules.casebook_violations(book)
    if violations:
        first = violations[0]
        label = first.record._meta.get_field(first.field).verbose_name
        raise ApplicationError(
            _("%(record)s of %(study_id)s: %(field)s %(message)s")
            % {
                "record": first.record._meta.verbose_name,
                "study_id": patient.study_id,
                "field": label,
                "message": first.message,
            },
            fields={first.field: [first.message]},
        )


def casebooks_register_bulk(
    *, user: User, center: Center, books: list, reason: str
) -> list[Patient]:
    """Register many new patients with their whole casebooks in one transaction (imports).

    ``books`` are unsaved ``Casebook`` objects (records point at their unsaved patient).
    The same rules as ``patient_register`` and ``crf_record_save`` — who may enter data and
    where, study ids from the registry in the order given, eligibility (a screen failure
    has no casebook), every record's validation and the cross-part rules — then the rows
    are inserted in bulk, each with its history row (``user``, ``reason``), and a register
    (or screen failure) audit event per patient.
    """
    from registry.bulk import BulkWriter

    _require_crf_editor(user)
    _check_reason_length(reason)
    if permissions.is_site_staff(user) and center.pk != user.center_id:
        raise _own_centre_only()
    if not books:
        return []
    with transaction.atomic():
        Center.objects.select_for_update().get(pk=center.pk)
        last = Patient.objects.filter(center=center).aggregate(m=Max("sequence"))["m"] or 0
        for offset, book in enumerate(books, start=1):
            patient = book.patient
            patient.center = center
            patient.sequence = last + offset
            patient.study_id = f"{center.code}-{patient.sequence:04d}"
            failed = patient.failed_criterion()
            patient.enrolment_status = (
                c.EnrolmentStatus.SCREEN_FAILURE if failed else c.EnrolmentStatus.ENROLLED
            )
            patient.screen_failure_reason = failed
            patient.casebook_status = c.CasebookStatus.IN_PROGRESS
            parts = [r for s in SECTION_ATTR for r in section_records(book, s)]
            if failed and (parts or patient.no_adverse_events):
                raise ApplicationError(
                    _("%(study_id)s: a screen failure has no casebook to fill (%(criterion)s).")
                    % {"study_id": patient.study_id, "criterion": failed}
                )
            if patient.no_adverse_events and book.adverse_events:
                raise _adverse_events_recorded()
            _bulk_validate(book)
        writer = BulkWriter(user, timezone.now(), reason=reason)
        patients = [book.patient for book in books]
        try:
            with transaction.atomic():
                writer.insert(Patient, patients)
                writer.insert_history(Patient, patients)
                for section in SECTION_ATTR:
                    model = MODEL_BY_SECTION[section]
                    records = [r for book in books for r in section_records(book, section)]
                    for record in records:
                        record.patient_id = record.patient.pk
                    writer.insert(model, records)
                    writer.insert_history(model, records)
        except IntegrityError as error:
            raise ApplicationError(
                _(
                    "The database refused the new casebooks (a patient with the same MRN at "
                    "this centre, or a record entered twice): %(error)s"
                )
                % {"error": str(error).splitlines()[0]}
            ) from None
        writer.insert_values(
            AuditEvent,
            [
                {
                    "at": writer.now,
                    "user_id": user.pk,
                    "patient_id": patient.pk,
                    "action": AuditEvent.Action.SCREEN_FAIL
                    if patient.screen_failure_reason
                    else AuditEvent.Action.REGISTER,
                    "detail": {
                        "study_id": patient.study_id,
                        "failed_criterion": patient.screen_failure_reason,
                    },
                    "reason": reason,
                }
                for patient in patients
            ],
        )
        for patient in patients:
            _announce_saved(patient)
    return patients
