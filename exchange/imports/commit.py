"""Write a checked plan through the registry services, in the caller's transaction.

New patients are registered with their whole casebooks by
``registry.services.casebooks_register_bulk``; a stored patient has its registration
updated and each new or changed record saved with ``crf_record_save``. Either way the
services check the centre, the lock, the model and the cross-part rules once more and
write the history with the importing user and the import's reason. A refusal raises, and
the caller's one transaction rolls the whole file back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.utils.translation import gettext as _

from core.errors import ApplicationError
from exchange.imports.columns import MISSING_SUFFIX
from exchange.imports.plan import NO_AE, SAVE_ORDER, PatientPlan, RecordPlan
from registry import choices as c
from registry import services
from registry.models import Patient, User


def _changed_data(record: RecordPlan) -> dict:
    if record.existing is None:
        return dict(record.data)
    names = {n[: -len(MISSING_SUFFIX)] if n.endswith(MISSING_SUFFIX) else n for n in record.changed}
    data = {n: v for n, v in record.data.items() if n in names and n != "missing_codes"}
    if "missing_codes" in record.data:
        data["missing_codes"] = record.data["missing_codes"]
    return data


def _registration_data(record: RecordPlan, *, changed_only: bool = False) -> dict:
    data = _changed_data(record) if changed_only else dict(record.data)
    data.pop("missing_codes", None)
    data.pop(NO_AE, None)
    return data


def _fail(plan: PatientPlan, record: RecordPlan, error: ApplicationError) -> ApplicationError:
    return ApplicationError(
        _("%(patient)s (%(sheet)s, row %(row)s): %(problem)s")
        % {
            "patient": plan.key,
            "sheet": record.sheet_label,
            "row": record.row,
            "problem": error.message,
        },
        code=error.code,
        fields=error.fields,
    )


def apply_patient(*, user: User, plan: PatientPlan, reason: str) -> Patient:
    """Write a stored patient's new and changed records, record by record."""
    order = {section: i for i, section in enumerate(SAVE_ORDER)}
    records = sorted(plan.changed_records, key=lambda r: order[r.section])
    patient = plan.existing
    for record in records:
        try:
            if record.section == c.Section.REGISTRATION:
                data = _registration_data(record, changed_only=True)
                if not data:
                    continue  # only the no-adverse-events confirmation changed
                patient = services.crf_record_save(
                    user=user,
                    patient=patient,
                    section=c.Section.REGISTRATION,
                    data=data,
                    expected_version=Patient.objects.get(pk=patient.pk).version,
                    reason=reason,
                )
                continue
            existing = record.existing
            services.crf_record_save(
                user=user,
                patient=patient,
                section=record.section,
                data=_changed_data(record),
                record_id=existing.pk if existing is not None else None,
                expected_version=existing.version if existing is not None else None,
                reason=reason,
            )
        except ApplicationError as error:
            raise _fail(plan, record, error) from None
    if plan.no_adverse_events is not None and plan.valid:
        current = Patient.objects.get(pk=patient.pk)
        if current.no_adverse_events != plan.no_adverse_events:
            registration = next(r for r in plan.records if r.section == c.Section.REGISTRATION)
            try:
                services.adverse_events_none_confirm(
                    user=user, patient=current, confirmed=plan.no_adverse_events, reason=reason
                )
            except ApplicationError as error:
                raise _fail(plan, registration, error) from None
    return patient


BULK_CHUNK = 1000


def apply(
    *,
    user: User,
    plans: list[PatientPlan],
    reason: str,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, str]:
    """Write every plan (the caller chose which); file study id → registry study id.

    New patients are registered with their whole casebooks by the registry's bulk service
    (per centre, in file study id order, so their registry ids follow that order); changes
    to stored patients go record by record through ``crf_record_save``.
    """
    ids: dict[str, str] = {}
    total = len(plans)
    done = 0
    new_by_center: dict[int, list[PatientPlan]] = defaultdict(list)
    for plan in plans:
        if plan.existing is None:
            new_by_center[plan.center.pk].append(plan)
    for group in new_by_center.values():
        for start in range(0, len(group), BULK_CHUNK):
            chunk = group[start : start + BULK_CHUNK]
            patients = services.casebooks_register_bulk(
                user=user, center=chunk[0].center, books=[p.book for p in chunk], reason=reason
            )
            for plan, patient in zip(chunk, patients, strict=True):
                ids[plan.key] = patient.study_id
            done += len(chunk)
            if progress:
                progress(done, total)
    for plan in plans:
        if plan.existing is not None and plan.changed_records:
            patient = apply_patient(user=user, plan=plan, reason=reason)
            ids[plan.key] = patient.study_id
        if plan.existing is not None:
            done += 1
            if progress and (done % 200 == 0 or done == total):
                progress(done, total)
    return ids
