"""Exports: the export log (one row per export) and the pseudonym keys behind them.

Both tables were created by the registry app's migrations (``registry_exportjob``,
``registry_pseudonymkey``) before exports became an app; the names are kept so
that existing rows and their history stay where they are.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PseudonymKey(models.Model):
    """The secret behind one set of export pseudonyms (per export, or per named recipient).

    Kept server-side only: with it an admin can map pseudonyms back to study ids; without
    it two exports made with different keys cannot be joined.
    """

    recipient = models.CharField(
        max_length=120, blank=True, help_text="Named recipient; empty for a one-export key."
    )
    key = models.CharField(max_length=64, editable=False, help_text="Hex HMAC key. Secret.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "registry_pseudonymkey"
        constraints = [
            models.UniqueConstraint(
                fields=["recipient"], condition=~Q(recipient=""), name="pseudonym_key_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"Pseudonym key {self.pk} ({self.recipient or 'one export'})"


class ExportJob(models.Model):
    """One export: who asked, its scope and settings, and what it produced (the export log)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    class DateMode(models.TextChoices):
        RELATIVE = "relative", _("Days from the second-line start")
        SHIFTED = "shifted", _("Shifted by a per-patient offset")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The job row is the outbox (core/outbox.py): the sweep sends a pending job never sent,
    # and re-queues a running one whose worker stopped touching its heartbeat.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    centers = models.JSONField(default=list, help_text="Centre codes in scope.")
    locked_only = models.BooleanField(default=True, help_text="Only locked casebooks.")
    formats = models.JSONField(default=list, help_text="Optional formats: xlsx, sav, redcap.")
    identified = models.BooleanField(default=False)
    reason = models.TextField(blank=True, help_text="Required for an identified export.")
    date_mode = models.CharField(max_length=10, choices=DateMode.choices, default="relative")
    recipient = models.CharField(max_length=120, blank=True)
    coarsen_centers = models.BooleanField(default=False)
    pseudonym_key = models.ForeignKey(
        PseudonymKey, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    file_path = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    file_hashes = models.JSONField(default=dict, blank=True)
    risk = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "registry_exportjob"
        ordering = ["-created_at", "-pk"]
        permissions = [("export_identified", "Can export identified (non-de-identified) data")]
        constraints = [
            models.CheckConstraint(
                condition=Q(identified=False) | ~Q(reason=""),
                name="export_identified_has_reason",
            )
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} by {self.created_by} ({self.status})"


class ImportJob(models.Model):
    """One import: the uploaded file, its preview (problems and changes) and its commit.

    The row is the outbox of both steps (core/outbox.py): the preview and the commit run in
    a worker, claimed with a guarded update, with a heartbeat the sweep watches.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Preview queued")
        PREVIEWING = "previewing", _("Checking the file")
        PREVIEWED = "previewed", _("Preview ready")
        COMMIT_QUEUED = "commit_queued", _("Import queued")
        COMMITTING = "committing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Registry XLSX template")
        CSV_ZIP = "csv-zip", _("Export ZIP (CSV tables)")
        REDCAP = "redcap", _("REDCap records CSV")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    file_name = models.CharField(max_length=200)
    file_path = models.CharField(max_length=500)
    file_size = models.BigIntegerField()
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=10, choices=Format.choices)
    center = models.ForeignKey(
        "registry.Center",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The centre imported into (its rows only); empty: the centre column.",
    )
    skip_invalid_patients = models.BooleanField(
        default=False, help_text="Import the patients without errors, report the rest."
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True, help_text="The first problems found.")
    changes = models.JSONField(default=list, blank=True, help_text="The first changes found.")
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the changes.")
    study_ids = models.JSONField(
        default=dict, blank=True, help_text="File study id → registry study id (after import)."
    )
    unreadable = models.BooleanField(default=False, help_text="The file could not be read.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.file_name} by {self.created_by} ({self.status})"

    @property
    def can_commit(self) -> bool:
        """A finished preview with something to write and no error the import may not skip."""
        if self.status != self.Status.PREVIEWED:
            return False
        counts = self.counts or {}
        writes = counts.get("patients_created", 0) + counts.get("patients_updated", 0)
        if writes == 0:
            return False
        return self.skip_invalid_patients or counts.get("errors", 0) == 0

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))
