"""Export writes: request (check, record, enqueue), run (the Celery task's body), download.

Every export, download and refused or failed attempt leaves an ``AuditEvent`` (EXPORT,
EXPORT_DOWNLOAD, EXPORT_REFUSED) with the user, scope and settings. Refusals are
written outside the request's transaction so they survive the error they report.
"""

from __future__ import annotations

import secrets
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbox, permissions
from core.errors import ApplicationError, ErrorCode
from exchange import deid
from exchange.models import ExportJob, PseudonymKey
from exchange.tables import Options
from exchange.writer import (
    PARTIAL_SUFFIX,
    WORK_DIR_MARK,
    ExportSpec,
    sha256_of,
    write_export,
)
from registry import choices as c
from registry.models import AuditEvent, Center, User
from registry.selectors import patients_visible_to

FORMATS = ("csv", "xlsx", "sav", "redcap")


def _refuse(
    user: User, message: str, *, code: str, detail: dict, fields: dict | None = None
) -> ApplicationError:
    AuditEvent.objects.create(
        user=user if user.is_authenticated else None,
        action=AuditEvent.Action.EXPORT_REFUSED,
        detail={**detail, "refused": message},
    )
    # fields: the API names the offending input field (the page shows the message only).
    return ApplicationError(message, code=code, fields=fields)


def export_scope(*, user: User, centers: list[str] | None) -> list[str]:
    """The centre codes ``user`` may export, given the requested ones (None = all allowed).

    Raises ApplicationError (forbidden) for a role without the export right or a centre
    outside the user's own; nothing is recorded here (the caller audits).
    """
    if not user.is_authenticated or not user.is_active:
        raise ApplicationError(_("Log in to export."), code=ErrorCode.FORBIDDEN)
    if not permissions.can_export(user):
        raise ApplicationError(
            _(
                "Your role (%(role)s) may not export data: exports are for PIs and "
                "administrators (all centres) and site staff (their own centre)."
            )
            % {"role": user.get_role_display()},
            code=ErrorCode.FORBIDDEN,
        )
    known = set(Center.objects.values_list("code", flat=True))
    requested = sorted({code.strip().upper() for code in centers or [] if code.strip()})
    unknown = [code for code in requested if code not in known]
    if unknown:
        raise ApplicationError(
            _("centers: unknown centre code(s) %(unknown)s; known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(known))},
            fields={
                "centers": [
                    _("Unknown centre code(s): %(unknown)s.") % {"unknown": ", ".join(unknown)}
                ]
            },
        )
    if permissions.sees_all_centers(user):
        return requested or sorted(known)
    own = user.center.code
    others = [code for code in requested if code != own]
    if others:
        raise ApplicationError(
            _("centers: site staff may export their own centre (%(own)s) only; not %(others)s.")
            % {"own": own, "others": ", ".join(others)},
            code=ErrorCode.FORBIDDEN,
            fields={"centers": [_("Only your own centre (%(own)s).") % {"own": own}]},
        )
    return [own]


def export_request(
    *,
    user: User,
    centers: list[str] | None = None,
    locked_only: bool = True,
    formats: list[str] | tuple[str, ...] = ("csv",),
    identified: bool = False,
    reason: str = "",
    date_mode: str = ExportJob.DateMode.RELATIVE,
    recipient: str = "",
    coarsen_centers: bool = False,
    enqueue: bool = True,
) -> ExportJob:
    """Check the request, record the job and its audit event, and queue the export task."""
    detail = {
        "centers": centers or "all",
        "locked_only": locked_only,
        "formats": list(formats),
        "identified": identified,
        "date_mode": date_mode,
        "recipient": recipient,
        "coarsen_centers": coarsen_centers,
    }
    try:
        scope = export_scope(user=user, centers=centers)
    except ApplicationError as error:
        raise _refuse(
            user, error.message, code=error.code, detail=detail, fields=error.fields
        ) from None
    bad_formats = [f for f in formats if f not in FORMATS]
    if bad_formats:
        raise _refuse(
            user,
            _("formats: unknown format(s) %(formats)s; choose from %(known)s.")
            % {"formats": ", ".join(bad_formats), "known": ", ".join(FORMATS)},
            code=ErrorCode.INVALID,
            detail=detail,
            fields={
                "formats": [
                    _("Unknown format(s): %(formats)s.") % {"formats": ", ".join(bad_formats)}
                ]
            },
        )
    if date_mode not in ExportJob.DateMode.values:
        raise _refuse(
            user,
            _("date_mode: must be one of %(known)s, not %(value)s.")
            % {"known": ", ".join(ExportJob.DateMode.values), "value": repr(date_mode)},
            code=ErrorCode.INVALID,
            detail=detail,
        )
    if identified:
        if not permissions.can_export_identified(user):
            raise _refuse(
                user,
                _(
                    "An identified export needs an administrator with the 'export identified "
                    "data' permission (%(permission)s)."
                )
                % {"permission": permissions.IDENTIFIED_EXPORT_PERMISSION},
                code=ErrorCode.FORBIDDEN,
                detail=detail,
            )
        if not reason.strip():
            raise _refuse(
                user,
                _("reason: an identified export needs a reason."),
                code=ErrorCode.INVALID,
                detail=detail,
                fields={"reason": [_("An identified export needs a reason.")]},
            )
    formats = ["csv", *sorted({f for f in formats if f != "csv"})]
    with transaction.atomic():
        key = None
        if not identified:
            key = _pseudonym_key(user, recipient.strip())
        job = ExportJob.objects.create(
            created_by=user,
            centers=scope,
            locked_only=locked_only,
            formats=formats,
            identified=identified,
            reason=reason.strip(),
            date_mode=date_mode,
            recipient=recipient.strip(),
            coarsen_centers=coarsen_centers,
            pseudonym_key=key,
        )
        AuditEvent.objects.create(
            user=user,
            action=AuditEvent.Action.EXPORT,
            detail={**detail, "centers": scope, "job": job.pk, "stage": "requested"},
            reason=job.reason,
        )
        if enqueue:
            transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def _dispatch(job_id: int) -> None:
    """Send the job's message, best effort; the sweep sends it again if this fails."""
    from exchange.tasks import run_export

    if outbox.send(run_export, job_id):
        ExportJob.objects.filter(pk=job_id).update(dispatched_at=timezone.now())


def _pseudonym_key(user: User, recipient: str) -> PseudonymKey:
    if recipient:
        key, _created = PseudonymKey.objects.get_or_create(
            recipient=recipient, defaults={"key": secrets.token_hex(32), "created_by": user}
        )
        return key
    return PseudonymKey.objects.create(key=secrets.token_hex(32), created_by=user)


def _deid_summary(job: ExportJob) -> list[str]:
    if job.identified:
        return [
            "NONE: this export contains direct identifiers (MRN, initials, date of birth, "
            "free text), real dates and real study ids.",
        ]
    pseudonyms = (
        f"per recipient ({job.recipient}): the same patient has the same pseudonym in every "
        "export to this recipient"
        if job.recipient
        else "per export: pseudonyms differ in every export"
    )
    dates = (
        "dates shifted back by a per-patient offset of 1–364 days (stable across exports; "
        "intervals within a patient unchanged)"
        if job.date_mode == ExportJob.DateMode.SHIFTED
        else "dates replaced by days from the patient's 2L start (day 0)"
    )
    return [
        "Direct identifiers removed: MRN, initials, date of birth, free-text notes and "
        "'other, specify' answers.",
        f"Study ids replaced by keyed pseudonyms, {pseudonyms}; the key stays on the server.",
        dates[0].upper() + dates[1:] + ".",
        "Ages over 89 shown as 90+ (top-coded to 90 in numeric columns).",
        "Centres relabelled 'centre A', 'centre B', … in a keyed order."
        if job.coarsen_centers
        else "Centre codes kept (quasi-identifier; see the risk summary).",
    ]


def _file_name(job: ExportJob) -> str:
    kind = "IDENTIFIED" if job.identified else "deidentified"
    return f"registry-export-{job.pk}-{kind}-{job.created_at:%Y%m%d}.zip"


def export_run(*, job_id: int) -> ExportJob | None:
    """Run a queued export once: claim PENDING → RUNNING (zero rows: someone else has it)."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.PENDING).update(
        status=ExportJob.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    running = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING)
    with outbox.heartbeat(running, every=settings.WORK_HEARTBEAT_TIMEOUT / 4):
        return _write(job_id)


def _write(job_id: int) -> ExportJob:
    job = ExportJob.objects.select_related("created_by", "pseudonym_key").get(pk=job_id)
    user = job.created_by
    try:
        patients = patients_visible_to(user).filter(center__code__in=job.centers)
        if job.locked_only:
            patients = patients.filter(casebook_status=c.CasebookStatus.LOCKED)
        root = Path(settings.EXPORT_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        job.file_name = _file_name(job)
        target = root / f"{job.pk}-{secrets.token_hex(8)}.zip"
        manifest = {
            "export_id": job.pk,
            "label": "IDENTIFIED" if job.identified else "DE-IDENTIFIED",
            "identified": job.identified,
            "reason": job.reason,
            "exported_by": user.username,
            "exported_by_role": user.role,
            "exported_at": timezone.now().isoformat(timespec="seconds"),
            "scope": {"centers": job.centers, "locked_only": job.locked_only},
            "settings": {
                "date_mode": job.date_mode,
                "pseudonyms": "none"
                if job.identified
                else ("per_recipient" if job.recipient else "per_export"),
                "recipient": job.recipient,
                "coarsen_centers": job.coarsen_centers,
                "formats": job.formats,
            },
            "deidentification_summary": _deid_summary(job),
        }
        spec = ExportSpec(
            patients=patients,
            options=Options(identified=job.identified, date_mode=job.date_mode),
            pseudonym_key=None if job.identified else bytes.fromhex(job.pseudonym_key.key),
            coarsen_centers=job.coarsen_centers,
            formats=tuple(job.formats),
            chunk_size=settings.EXPORT_CHUNK_SIZE,
            manifest=manifest,
            processes=settings.EXPORT_PROCESSES,
        )
        result = write_export(spec, target)
    except Exception as exc:
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        AuditEvent.objects.create(
            user=user,
            action=AuditEvent.Action.EXPORT_REFUSED,
            detail={"job": job.pk, "stage": "failed", "error": str(exc)[:500]},
        )
        job.refresh_from_db()
        return job
    job.file_path = str(target)
    job.file_size = target.stat().st_size
    job.file_sha256 = sha256_of(target)
    job.row_counts = result.row_counts
    job.file_hashes = result.file_hashes
    job.risk = result.risk
    job.status = ExportJob.Status.DONE
    job.finished_at = timezone.now()
    job.expires_at = job.finished_at + timedelta(hours=settings.EXPORT_LINK_TTL_HOURS)
    job.save()
    AuditEvent.objects.create(
        user=user,
        action=AuditEvent.Action.EXPORT,
        detail={
            "job": job.pk,
            "stage": "done",
            "centers": job.centers,
            "identified": job.identified,
            "date_mode": job.date_mode,
            "row_counts": job.row_counts,
            "sha256": job.file_sha256,
            "k": job.risk.get("k"),
        },
        reason=job.reason,
    )
    return job


def exports_sweep(*, now=None) -> dict[str, list]:
    """Recover exports a worker lost and send jobs whose message did not go out.

    The same rules as the analysis runs' sweep (analytics.services.runs_sweep): a running job
    with a heartbeat older than WORK_HEARTBEAT_TIMEOUT goes back to pending (failed after
    WORK_MAX_ATTEMPTS claims); a pending job never sent, or sent that long ago and not
    taken, is sent again. Files that dead workers left behind are removed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT)
    requeued: list[int] = []
    failed: list[int] = []
    stale = ExportJob.objects.filter(status=ExportJob.Status.RUNNING, heartbeat_at__lt=cutoff)
    for job in stale.select_related("created_by"):
        still_stale = stale.filter(pk=job.pk)
        if job.attempts >= settings.WORK_MAX_ATTEMPTS:
            message = f"The worker stopped responding {job.attempts} times; giving up."
            if still_stale.update(status=ExportJob.Status.FAILED, finished_at=now, error=message):
                failed.append(job.pk)
                AuditEvent.objects.create(
                    user=job.created_by,
                    action=AuditEvent.Action.EXPORT_REFUSED,
                    detail={"job": job.pk, "stage": "failed", "error": message},
                )
            continue
        if still_stale.update(status=ExportJob.Status.PENDING, dispatched_at=None):
            requeued.append(job.pk)
            transaction.on_commit(lambda pk=job.pk: _dispatch(pk))
    waiting = ExportJob.objects.filter(status=ExportJob.Status.PENDING)
    resent = outbox.resend_not_taken(waiting, cutoff=cutoff, dispatch=_dispatch, skip=requeued)
    return {
        "requeued": requeued,
        "failed": failed,
        "resent": resent,
        "removed": _leftovers_remove(),
    }


def _leftover_job_id(entry: Path) -> int | None:
    """The job a work folder or half-written ZIP of ``write_export`` belongs to, if it is one."""
    if entry.is_dir() and WORK_DIR_MARK in entry.name:
        head = entry.name.split(WORK_DIR_MARK, 1)[0]
    elif entry.is_file() and entry.suffix == PARTIAL_SUFFIX:
        head = entry.stem
    else:
        return None
    job_id = head.split("-", 1)[0]
    return int(job_id) if job_id.isdigit() else None


def _leftovers_remove() -> list[str]:
    """Delete what killed workers left in the export folder: work folders and half-written
    ZIPs of jobs no worker is writing now (a running job's are left alone). They hold
    patient data, so they must not wait for someone to notice them."""
    root = Path(settings.EXPORT_ROOT)
    if not root.is_dir():
        return []
    leftovers = {
        entry: job_id for entry in root.iterdir() if (job_id := _leftover_job_id(entry)) is not None
    }
    writing = set(
        ExportJob.objects.filter(
            pk__in=set(leftovers.values()), status=ExportJob.Status.RUNNING
        ).values_list("pk", flat=True)
    )
    removed = []
    for entry, job_id in sorted(leftovers.items()):
        if job_id in writing:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def export_download(*, user: User, job_id: int) -> ExportJob:
    """The owner's finished, unexpired export; anything else is refused and audited."""
    detail = {"job": job_id}
    job = ExportJob.objects.filter(pk=job_id, created_by_id=user.pk).first()
    if job is None or job.status != ExportJob.Status.DONE or not Path(job.file_path).is_file():
        raise _refuse(user, "No such export.", code=ErrorCode.NOT_FOUND, detail=detail)
    if job.expires_at is None or job.expires_at <= timezone.now():
        raise _refuse(
            user,
            f"This download link expired at {job.expires_at:%Y-%m-%d %H:%M} UTC; "
            "run the export again.",
            code=ErrorCode.EXPIRED,
            detail=detail,
        )
    AuditEvent.objects.create(
        user=user,
        action=AuditEvent.Action.EXPORT_DOWNLOAD,
        detail={"job": job.pk, "sha256": job.file_sha256, "identified": job.identified},
    )
    return job


def pseudonym_mapping(*, user: User, job_id: int) -> list[tuple[str, str]]:
    """(pseudonym, study id) of an export's patients, for administrators only (audited)."""
    if not permissions.is_administrator(user):
        raise _refuse(
            user,
            _("Only administrators may map pseudonyms back to study ids."),
            code=ErrorCode.FORBIDDEN,
            detail={"job": job_id, "stage": "pseudonym_mapping"},
        )
    job = ExportJob.objects.select_related("pseudonym_key").filter(pk=job_id).first()
    if job is None or job.pseudonym_key is None:
        raise ApplicationError(_("No such de-identified export."), code=ErrorCode.NOT_FOUND)
    AuditEvent.objects.create(
        user=user,
        action=AuditEvent.Action.EXPORT,
        detail={"job": job.pk, "stage": "pseudonym_mapping"},
    )
    key = bytes.fromhex(job.pseudonym_key.key)
    patients = patients_visible_to(user).filter(center__code__in=job.centers)
    return [
        (deid.pseudonym(key, study_id), study_id)
        for study_id in patients.order_by("study_id").values_list("study_id", flat=True)
    ]
