"""Import writes: request (check, store the file, queue the preview), run (preview or
commit, the Celery task's body), commit request, and the sweep that recovers lost work.

The preview writes nothing but the job row. The commit re-reads the file, plans it again
inside one transaction, refuses if the plan differs from the preview the user confirmed,
and writes through the registry services (exchange.imports.commit): history rows by the
importing user with the reason ``import <file name> sha256 <hash>``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbox, permissions
from core.errors import ApplicationError, ErrorCode
from exchange.imports import commit, readers
from exchange.imports.plan import Planner, Preview
from exchange.models import ImportJob
from registry.models import Center, User

logger = logging.getLogger(__name__)
# django-simple-history keeps the change reason in 100 characters; the hash is kept whole.
REASON_MAX = 100


def import_reason(file_name: str, sha256: str) -> str:
    room = REASON_MAX - len(f"import  sha256 {sha256}")
    name = file_name if len(file_name) <= room else file_name[: room - 1] + "…"
    return f"import {name} sha256 {sha256}"


def _require_importer(user: User) -> None:
    if not user.is_authenticated or not user.is_active:
        raise ApplicationError(_("Log in to import."), code=ErrorCode.FORBIDDEN)
    if not permissions.can_edit_crf(user):
        raise ApplicationError(
            _("Your role (%(role)s) may read but not import CRF data.")
            % {"role": user.get_role_display()},
            code=ErrorCode.FORBIDDEN,
        )


def import_center(*, user: User, code: str | None) -> Center | None:
    """The centre an import is restricted to: site staff always their own."""
    code = (code or "").strip().upper()
    center = None
    if code:
        center = Center.objects.filter(code=code).first()
        if center is None:
            raise ApplicationError(
                _("center: unknown centre code %(code)s.") % {"code": code},
                fields={"center": [_("Unknown centre code.")]},
            )
    if permissions.is_site_staff(user):
        if center is not None and center.pk != user.center_id:
            raise ApplicationError(
                _("center: you import into your own centre (%(own)s) only.")
                % {"own": user.center.code},
                code=ErrorCode.FORBIDDEN,
                fields={"center": [_("Only your own centre.")]},
            )
        return user.center
    return center


def import_request(
    *,
    user: User,
    file: BinaryIO,
    file_name: str,
    file_format: str | None = None,
    center: str | None = None,
    skip_invalid_patients: bool = False,
    enqueue: bool = True,
) -> ImportJob:
    """Check who imports where, keep the file, record the job and queue its preview."""
    _require_importer(user)
    scope = import_center(user=user, code=center)
    file_name = Path(file_name or "upload").name[:200]
    try:
        file_format = file_format or readers.detect_format(file_name)
    except readers.UnreadableFile as error:
        raise ApplicationError(str(error), fields={"file": [str(error)]}) from None
    if file_format not in readers.FORMATS:
        message = _("format: choose one of %(formats)s.") % {"formats": ", ".join(readers.FORMATS)}
        raise ApplicationError(message, fields={"format": [message]})
    root = Path(settings.IMPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{secrets.token_hex(12)}.upload"
    digest = hashlib.sha256()
    size = 0
    limit = settings.IMPORT_MAX_BYTES
    try:
        with open(target, "wb") as out:
            while block := file.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise ApplicationError(
                        _(
                            "file: the file is larger than the limit of %(limit)d bytes "
                            "(IMPORT_MAX_BYTES)."
                        )
                        % {"limit": limit},
                        code=ErrorCode.PAYLOAD_TOO_LARGE,
                        fields={"file": [_("Larger than the limit.")]},
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise ApplicationError(
                _("file: the file is empty."), fields={"file": [_("The file is empty.")]}
            )
    except ApplicationError:
        target.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=user,
            file_name=file_name,
            file_path=str(target),
            file_size=size,
            file_sha256=digest.hexdigest(),
            file_format=file_format,
            center=scope,
            skip_invalid_patients=skip_invalid_patients,
        )
        if enqueue:
            transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def _dispatch(job_id: int) -> None:
    from exchange.tasks import run_import

    if outbox.send(run_import, job_id):
        ImportJob.objects.filter(pk=job_id).update(dispatched_at=timezone.now())


def _progress(job_id: int):
    def report(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(progress_done=done, progress_total=total)

    return report


def build_preview(job: ImportJob, *, progress=None, consume=None) -> Preview:
    """Read the job's file and plan it (raises readers.UnreadableFile); ``consume`` gets the
    plans chunk by chunk (the commit)."""
    result = readers.read(Path(job.file_path), job.file_format)
    planner = Planner(
        user=job.created_by, center=job.center, file_name=job.file_name, progress=progress
    )
    return planner.build(result, limit=settings.IMPORT_PREVIEW_MAX_ITEMS, consume=consume)


def import_run(*, job_id: int) -> ImportJob | None:
    """Run the job's next step once: claim it (zero rows: someone else has it), preview or
    commit, with a heartbeat the sweep watches."""
    now = timezone.now()
    for queued, running, step in (
        (ImportJob.Status.PENDING, ImportJob.Status.PREVIEWING, _preview),
        (ImportJob.Status.COMMIT_QUEUED, ImportJob.Status.COMMITTING, _commit),
    ):
        claimed = ImportJob.objects.filter(pk=job_id, status=queued).update(
            status=running, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
        )
        if claimed:
            rows = ImportJob.objects.filter(pk=job_id, status=running)
            with outbox.heartbeat(rows, every=settings.WORK_HEARTBEAT_TIMEOUT / 4):
                step(job_id)
            job = ImportJob.objects.get(pk=job_id)
            if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
                # The file holds identifiers: kept only while a commit may still need it
                # (its name, size and SHA-256 stay on the job and in the history's reason).
                Path(job.file_path).unlink(missing_ok=True)
            return job
    return None


def _preview(job_id: int) -> None:
    job = ImportJob.objects.select_related("created_by", "center").get(pk=job_id)
    try:
        preview = build_preview(job, progress=_progress(job_id))
    except readers.UnreadableFile as error:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            unreadable=True,
            error=str(error)[:2000],
            finished_at=timezone.now(),
        )
        return
    except Exception as exc:
        logger.exception("import %s: preview failed", job_id)
        _failed(job_id, _("The preview failed: %(error)s") % {"error": exc})
        return
    limit = settings.IMPORT_PREVIEW_MAX_ITEMS
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.PREVIEWED,
        counts=preview.counts(),
        problems=[p.as_dict() for p in preview.problems[:limit]],
        changes=preview.changes(),
        digest=preview.digest(),
        finished_at=timezone.now(),
    )


def _failed(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED, error=str(message)[:2000], finished_at=timezone.now()
    )


def _commit(job_id: int) -> None:
    job = ImportJob.objects.select_related("created_by", "center").get(pk=job_id)
    try:
        ids, counts = commit_job(job, progress=_progress(job_id))
    except ApplicationError as error:
        _failed(job_id, error.message)
        return
    except readers.UnreadableFile as error:
        _failed(job_id, str(error))
        return
    except Exception as exc:
        logger.exception("import %s: commit failed", job_id)
        _failed(job_id, _("The import failed and wrote nothing: %(error)s") % {"error": exc})
        return
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE, study_ids=ids, counts=counts, finished_at=timezone.now()
    )


def commit_job(job: ImportJob, *, progress=None) -> tuple[dict[str, str], dict]:
    """Plan the file again and write it in one transaction; (study ids, counts)."""
    reason = import_reason(job.file_name, job.file_sha256)
    ids: dict[str, str] = {}

    def write(plans) -> None:
        # Chunk by chunk inside the one transaction: a chunk's plans are written, then let
        # go (flat memory); a difference from the preview found later rolls it all back.
        valid = [plan for plan in plans if plan.valid]
        ids.update(commit.apply(user=job.created_by, plans=valid, reason=reason))

    with transaction.atomic():
        preview = build_preview(job, progress=progress, consume=write)
        if preview.digest() != job.digest:
            raise ApplicationError(
                _("The registry or the file changed since the preview; preview the file again."),
                code=ErrorCode.CONFLICT,
            )
        if preview.error_count and not job.skip_invalid_patients:
            raise ApplicationError(
                _("The file has %(n)d problems; nothing was imported.") % {"n": preview.error_count}
            )
    counts = preview.counts()
    counts["committed"] = True
    return ids, counts


def import_get(*, user: User, job_id: int) -> ImportJob:
    """The user's own import job; anyone else's is answered as absent."""
    job = ImportJob.objects.filter(pk=job_id, created_by_id=user.pk).first()
    if job is None:
        raise ApplicationError(_("No such import."), code=ErrorCode.NOT_FOUND)
    return job


def import_commit_request(*, user: User, job_id: int, enqueue: bool = True) -> ImportJob:
    """Confirm a previewed import: queue its commit (refused unless the preview allows it)."""
    _require_importer(user)
    job = import_get(user=user, job_id=job_id)
    if job.status != ImportJob.Status.PREVIEWED:
        raise ApplicationError(
            _("This import cannot be confirmed now (%(status)s).")
            % {"status": job.get_status_display()},
            code=ErrorCode.CONFLICT,
        )
    if not job.can_commit:
        raise ApplicationError(
            _(
                "Nothing to import: the preview found problems (fix the file, or import with "
                "'skip invalid patients') or no change."
            ),
            code=ErrorCode.CONFLICT,
        )
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
        status=ImportJob.Status.COMMIT_QUEUED, dispatched_at=None, attempts=0
    )
    if not claimed:
        raise ApplicationError(_("This import was confirmed already."), code=ErrorCode.CONFLICT)
    if enqueue:
        transaction.on_commit(lambda: _dispatch(job.pk))
    job.refresh_from_db()
    return job


def imports_sweep(*, now=None) -> dict[str, list[int]]:
    """Recover imports a worker lost and send jobs whose message did not go out.

    As exports_sweep: a preview or commit whose heartbeat is older than
    WORK_HEARTBEAT_TIMEOUT goes back to its queue (a commit's transaction died with its
    worker, so nothing of it was written), failed after WORK_MAX_ATTEMPTS claims.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT)
    requeued: list[int] = []
    failed: list[int] = []
    back = {
        ImportJob.Status.PREVIEWING: ImportJob.Status.PENDING,
        ImportJob.Status.COMMITTING: ImportJob.Status.COMMIT_QUEUED,
    }
    for running, queued in back.items():
        stale = ImportJob.objects.filter(status=running, heartbeat_at__lt=cutoff)
        for job in stale:
            still_stale = stale.filter(pk=job.pk)
            if job.attempts >= settings.WORK_MAX_ATTEMPTS:
                message = _("The worker stopped responding %(n)d times; giving up.") % {
                    "n": job.attempts
                }
                if still_stale.update(
                    status=ImportJob.Status.FAILED, finished_at=now, error=message
                ):
                    failed.append(job.pk)
                continue
            if still_stale.update(status=queued, dispatched_at=None):
                requeued.append(job.pk)
                transaction.on_commit(lambda pk=job.pk: _dispatch(pk))
    waiting = ImportJob.objects.filter(
        status__in=[ImportJob.Status.PENDING, ImportJob.Status.COMMIT_QUEUED]
    )
    resent = outbox.resend_not_taken(waiting, cutoff=cutoff, dispatch=_dispatch, skip=requeued)
    return {"requeued": requeued, "failed": failed, "resent": resent}
