"""Source data verification (SDV): a monitor marks values as checked against the source.

Services write (``verification_mark``; the receivers that drop a verification when its value
changes), selectors read (``verifications_visible_to`` is the only road to verification
rows, through the registry's centre scope). A verification names one field, or (``field``
empty) a whole part or record; which values are *critical* is a study setting
(``StudySettings``), and with ``lock_requires_sdv`` on, a casebook whose critical values are
not all verified cannot be locked.

"Verified" for one value means: a valid (not dropped) verification of that field, or of the
whole part/record holding it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import permissions
from core.errors import ApplicationError, ErrorCode, field_error
from quality.models import StudySettings, Verification
from quality.services import validated_target, value_as_text
from registry.models import (
    MODEL_BY_SECTION,
    REPEATING_SECTIONS,
    AuditEvent,
    Center,
    Patient,
    User,
)
from registry.selectors import patients_visible_to

# How many missing values a lock refusal names before "…".
_NAMED_IN_REFUSAL = 10


# -- settings ------------------------------------------------------------------------------------


def study_settings() -> StudySettings:
    """The study's settings row, or (none saved yet) an unsaved one holding the defaults."""
    return StudySettings.objects.filter(pk=1).first() or StudySettings()


def critical_fields() -> list[tuple[str, str]]:
    """The critical values as (section, field), in the setting's order, unknown names skipped."""
    pairs = []
    for name in study_settings().critical_fields:
        section, _dot, field = str(name).partition(".")
        if section in MODEL_BY_SECTION and field:
            pairs.append((section, field))
    return pairs


def study_settings_update(
    *, lock_requires_sdv: bool | None = None, critical_fields: list[str] | None = None
) -> StudySettings:
    """Change the study's settings (the row is created on first change), validated."""
    with transaction.atomic():
        settings = StudySettings.objects.select_for_update().filter(pk=1).first()
        settings = settings or StudySettings()
        if lock_requires_sdv is not None:
            settings.lock_requires_sdv = lock_requires_sdv
        if critical_fields is not None:
            settings.critical_fields = list(critical_fields)
        settings.full_clean()
        settings.save()
    return settings


def _present(model, field: str) -> Q:
    """A value counts as entered when it is not empty (NULL, or "" for text)."""
    present = Q(**{f"{field}__isnull": False})
    if model._meta.get_field(field).get_internal_type() in ("CharField", "TextField"):
        present &= ~Q(**{field: ""})
    return present


def _record_key(section: str, record) -> int | None:
    """Verifications of the registration and of single parts carry no record id."""
    return record.pk if section in REPEATING_SECTIONS and record is not None else None


# -- services ------------------------------------------------------------------------------------


def verification_mark(
    *,
    user: User,
    patient: Patient,
    section: str,
    record_id: int | None = None,
    fields: list[str] | None = None,
) -> list[Verification]:
    """Mark fields (or, ``fields`` empty, the whole part or record) as verified against source.

    A target already verified (and not dropped since) keeps its verification: it is returned,
    not checked twice. Allowed on locked casebooks: it writes no casebook data.
    """
    if not permissions.can_verify_source(user):
        raise ApplicationError(
            _("Only a data manager may verify data against source."), code=ErrorCode.FORBIDDEN
        )
    if not patients_visible_to(user).filter(pk=patient.pk).exists():
        raise ApplicationError(_("No such patient."), code=ErrorCode.NOT_FOUND)
    if not section:
        raise field_error("section", _("Name the part to verify."))
    if section in REPEATING_SECTIONS and record_id is None:
        raise field_error("record", _("Name the record of this repeating part."))
    targets = list(dict.fromkeys(fields or [""]))
    with transaction.atomic():
        record = None
        for field in targets:
            record = validated_target(patient, section, record_id, field)
        if record is None:
            raise field_error(
                "section", _("%(part)s has no data yet: nothing to verify.") % {"part": section}
            )
        key = _record_key(section, record)
        valid = {
            v.field: v
            for v in Verification.objects.select_for_update().filter(
                patient=patient,
                section=section,
                record_id=key,
                field__in=targets,
                dropped_at__isnull=True,
            )
        }
        now = timezone.now()
        result, created = [], []
        for field in targets:
            if field in valid:
                result.append(valid[field])
                continue
            value = ""
            if field and field not in type(record).identifier_fields:
                # An identifier's value is not copied: a data manager may not see it.
                value = value_as_text(getattr(record, field))
            verification = Verification.objects.create(
                patient=patient,
                section=section,
                record_id=key,
                field=field,
                value_at_verification=value,
                verified_by=user,
                verified_at=now,
            )
            result.append(verification)
            created.append(verification)
        if created:
            AuditEvent.objects.create(
                user=user,
                patient=patient,
                action=AuditEvent.Action.SDV_VERIFY,
                detail={
                    "section": section,
                    "id": key,
                    "fields": [v.field for v in created],
                    "verifications": [v.pk for v in created],
                },
            )
    return result


def _changed_by(model, record_id: int) -> int | None:
    """Who made the latest change to a record, from its history (None if unknown)."""
    history = getattr(model, "history", None)
    if history is None:
        return None
    latest = history.filter(id=record_id).order_by("-history_date", "-history_id").first()
    return latest.history_user_id if latest is not None else None


def drop_on_change(
    sender,
    patient: Patient,
    section: str,
    record_id: int,
    fields: list[str],
    deleted: bool = False,
    **kwargs: Any,
) -> int:
    """Receiver of ``casebook_changed`` (after the write committed): drop the verifications
    the change invalidates. A field's when that field changed; a whole part's or record's when
    any of its fields changed; every one of a deleted record. Returns how many were dropped."""
    if not fields and not deleted:
        return 0
    candidates = Verification.objects.filter(
        patient_id=patient.pk, section=section, dropped_at__isnull=True
    )
    if section in REPEATING_SECTIONS:
        candidates = candidates.filter(record_id=record_id)
    if not deleted:
        candidates = candidates.filter(Q(field__in=fields) | Q(field=""))
    model = MODEL_BY_SECTION[section]
    with transaction.atomic():
        dropping = list(candidates.select_for_update())
        if not dropping:
            return 0
        record = None if deleted else model.objects.filter(pk=record_id).first()
        by = _changed_by(model, record_id)
        now = timezone.now()
        for verification in dropping:
            verification.dropped_at = now
            verification.drop_detail = _drop_detail(verification, model, record, fields, by)
            verification.save(update_fields=["dropped_at", "drop_detail"])
        AuditEvent.objects.create(
            user_id=by,
            patient_id=patient.pk,
            action=AuditEvent.Action.SDV_DROPPED,
            detail={
                "section": section,
                "id": record_id if section in REPEATING_SECTIONS else None,
                "fields": [v.field for v in dropping],
                "verifications": [v.pk for v in dropping],
                "deleted": deleted,
            },
        )
    return len(dropping)


def _drop_detail(verification: Verification, model, record, fields, by) -> dict:
    if record is None:
        return {"deleted": True, "by": by}
    if not verification.field:
        return {"fields": list(fields), "by": by}
    secret = verification.field in model.identifier_fields
    return {
        "field": verification.field,
        "old": None if secret else verification.value_at_verification,
        "new": None if secret else value_as_text(getattr(record, verification.field)),
        "by": by,
    }


# -- selectors -----------------------------------------------------------------------------------


def verifications_visible_to(user: User) -> QuerySet[Verification]:
    return Verification.objects.filter(
        patient__in=patients_visible_to(user).values("pk")
    ).select_related("patient__center", "verified_by")


def patient_verifications(user: User, patient: Patient) -> QuerySet[Verification]:
    """All checks of one casebook (valid and dropped), newest first, through the scope."""
    return verifications_visible_to(user).filter(patient=patient)


def dropped_verifications(user: User, *, center: Center | None = None) -> QuerySet[Verification]:
    """Verifications a later change invalidated, most recently dropped first."""
    dropped = verifications_visible_to(user).filter(dropped_at__isnull=False)
    if center is not None:
        dropped = dropped.filter(patient__center=center)
    return dropped.order_by("-dropped_at", "-pk")


def verified_targets(patient: Patient) -> set[tuple[str, int | None, str]]:
    """(section, record id, field) of the casebook's valid verifications, in one query
    (field "" for a whole part or record), for the casebook's badges and the lock."""
    return set(
        Verification.objects.filter(patient=patient, dropped_at__isnull=True).values_list(
            "section", "record_id", "field"
        )
    )


def is_verified(targets: set, section: str, record_id: int | None, field: str) -> bool:
    return (section, record_id, field) in targets or (section, record_id, "") in targets


def missing_critical(patient: Patient) -> list[str]:
    """The casebook's entered critical values that are not verified, as "part.field" (with
    " #id" for a record of a repeating part)."""
    targets = verified_targets(patient)
    missing = []
    for section, field in critical_fields():
        model = MODEL_BY_SECTION[section]
        if model is Patient:
            records = Patient.objects.filter(pk=patient.pk)
        else:
            records = model.objects.filter(patient_id=patient.pk).order_by("pk")
        for record_pk in records.filter(_present(model, field)).values_list("pk", flat=True):
            key = record_pk if section in REPEATING_SECTIONS else None
            if not is_verified(targets, section, key, field):
                suffix = f" #{record_pk}" if key is not None else ""
                missing.append(f"{section}.{field}{suffix}")
    return missing


def lock_blockers(sender, patient: Patient, **kwargs: Any) -> list[str]:
    """Receiver of ``casebook_lock_blockers``: with ``lock_requires_sdv`` on, unverified
    critical values are one reason not to lock, naming them."""
    if not study_settings().lock_requires_sdv:
        return []
    missing = missing_critical(patient)
    if not missing:
        return []
    named = ", ".join(missing[:_NAMED_IN_REFUSAL])
    if len(missing) > _NAMED_IN_REFUSAL:
        named += ", …"
    return [
        ngettext(
            "source verification missing for %(n)d critical field: %(names)s",
            "source verification missing for %(n)d critical fields: %(names)s",
            len(missing),
        )
        % {"n": len(missing), "names": named}
    ]


@dataclass
class CentreProgress:
    center: str
    critical: int
    verified: int

    @property
    def percent(self) -> float | None:
        """Verified critical values in % of the entered ones (None with none entered)."""
        return round(100 * self.verified / self.critical, 1) if self.critical else None


def _verified(section: str, field: str, patient_ref: str) -> Q:
    """The value is covered by a valid check of itself or of its whole part or record.

    An uncorrelated ``IN`` rather than a correlated ``EXISTS``: inside an aggregate's FILTER
    PostgreSQL runs an ``EXISTS`` once per value (100,000 index probes per field at 100,000
    casebooks, seconds per dashboard), while it reads the valid checks once into a hash for
    an ``IN`` (issue 16). Record ids are unique within a part's table, so for a repeating
    part the record alone names the value's patient too.
    """
    valid = Verification.objects.filter(
        section=section, dropped_at__isnull=True, field__in=[field, ""]
    ).order_by()
    if section in REPEATING_SECTIONS:
        return Q(pk__in=valid.values("record_id"))
    return Q(**{f"{patient_ref}__in": valid.values("patient_id")})


def critical_progress(user: User, *, center: Center | None = None) -> list[CentreProgress]:
    """Per visible centre: entered critical values and how many are verified (not dropped).

    Set-based: one aggregate query per part that holds critical fields (each value counted
    with a filtered ``Count`` and an ``EXISTS`` on the verifications), never a loop over
    patients.
    """
    visible = patients_visible_to(user)
    if center is not None:
        visible = visible.filter(center=center)
    by_section: dict[str, list[str]] = {}
    for section, field in critical_fields():
        by_section.setdefault(section, []).append(field)
    totals: dict[str, CentreProgress] = {
        code: CentreProgress(code, 0, 0)
        for code in visible.order_by().values_list("center__code", flat=True).distinct()
    }
    for section, fields in by_section.items():
        model = MODEL_BY_SECTION[section]
        if model is Patient:
            rows, centre, patient_ref = (
                model.objects.filter(pk__in=visible.values("pk")),
                "center__code",
                "pk",
            )
        else:
            rows = model.objects.filter(patient__in=visible.values("pk"))
            centre, patient_ref = "patient__center__code", "patient_id"
        aggregates = {}
        for i, field in enumerate(fields):
            present = _present(model, field)
            aggregates[f"n{i}"] = Count("pk", filter=present)
            aggregates[f"v{i}"] = Count(
                "pk", filter=present & _verified(section, field, patient_ref)
            )
        for row in rows.values(centre).annotate(**aggregates).order_by():
            progress = totals.setdefault(row[centre], CentreProgress(row[centre], 0, 0))
            for i in range(len(fields)):
                progress.critical += row[f"n{i}"]
                progress.verified += row[f"v{i}"]
    return [totals[code] for code in sorted(totals)]


def critical_progress_cached(user: User) -> list[CentreProgress]:
    """``critical_progress`` for the dashboard's headline, recomputed only when what it counts
    can have changed. At 100,000 casebooks the aggregates take over a second of database
    time, which every dashboard request paid (issue 16).

    The cache key holds what the result depends on: the user's scope, the critical fields,
    and a version of the data (``_data_version``), so a cached answer is never stale.
    """
    scope = "all" if permissions.sees_all_centers(user) else f"centre-{user.center_id}"
    fields = ",".join(f"{section}.{field}" for section, field in critical_fields())
    version = ".".join(str(part) for part in _data_version())
    digest = hashlib.sha256(f"{scope}|{fields}|{version}".encode()).hexdigest()[:32]
    key = f"quality:critical-progress:{digest}"
    progress = cache.get(key)
    if progress is None:
        progress = critical_progress(user)
        cache.set(key, progress, timeout=24 * 60 * 60)
    return progress


def _data_version() -> tuple:
    """Changes with any write that can change ``critical_progress``: every CRF write adds a
    history row (a verification dropped by a change comes with one), every verification is a
    new row, and bulk-inserted casebooks (``generate_cohort``) add patients. Each part is the
    maximum of a primary key: an index lookup, not a scan."""
    models = {MODEL_BY_SECTION[section] for section, _field in critical_fields()}
    parts = [
        model.history.model.objects.aggregate(top=Max("history_id"))["top"]
        for model in sorted(models, key=lambda m: m.__name__)
    ]
    parts.append(Verification.objects.aggregate(top=Max("pk"))["top"])
    parts.append(Patient.objects.aggregate(top=Max("pk"))["top"])
    return tuple(parts)
