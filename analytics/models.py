"""The statistical analysis plan as versioned data, and the analysis runs that locks trigger.

A plan version is never edited: saving a changed plan adds a version, and the latest
version is the current plan. A run records exactly what it computed on (plan version,
dataset hash) so any number on the dashboard can be traced to the data behind it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AnalysisPlan(models.Model):
    version = models.PositiveIntegerField(unique=True, editable=False)
    plan = models.JSONField(help_text="The plan JSON of analysis-contract.md section 3.")
    plan_sha256 = models.CharField(
        max_length=64, editable=False, help_text="Engine hash of the normalised plan."
    )
    note = models.CharField(max_length=300, blank=True, help_text="What changed, and why.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="analysis_plans",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="analysis_plan_version_ge_1")
        ]

    def __str__(self) -> str:
        return f"Plan v{self.version}"

    @property
    def name(self) -> str:
        return str(self.plan.get("name", "")) if isinstance(self.plan, dict) else ""


class AnalysisRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        LOCK = "lock", _("Casebook locked")
        UNLOCK = "unlock", _("Casebook unlocked")
        PLAN = "plan", _("Analysis plan changed")
        MANUAL = "manual", _("Started by hand")

    plan = models.ForeignKey(
        AnalysisPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
        help_text="Set when the run starts: a queued run computes the plan current then.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent, 0–100.")
    step = models.CharField(max_length=60, blank=True, help_text="What the run is doing now.")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per step.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    error = models.TextField(blank=True, help_text="Why the run failed, for the PI.")

    dataset_sha256 = models.CharField(max_length=64, blank=True)
    n_locked = models.PositiveIntegerField(null=True, blank=True)
    n_analysed = models.PositiveIntegerField(
        null=True, blank=True, help_text="Locked casebooks with a 2L start (the analysis index)."
    )
    bundle = models.JSONField(null=True, blank=True, help_text="The engine's result bundle.")
    reused_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reused_by",
        help_text="A finished run on the same data and plan whose bundle this run shows.",
    )

    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="analysis_runs",
    )
    trigger_event = models.ForeignKey(
        "registry.AuditEvent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="analysis_runs",
        help_text="The lock or unlock that queued this run.",
    )
    coalesced = models.PositiveIntegerField(
        default=0, help_text="Later triggers folded into this run while it waited in the queue."
    )
    # Marked by a PI when the numbers are the ones to publish (no query open on the data).
    final_at = models.DateTimeField(null=True, blank=True)
    final_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Touched by the running worker; stale means it died."
    )
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its message last reached the broker; empty: the sweep sends it.",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["dataset_sha256", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="analysis_run_progress_pct"
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error=""), name="analysis_run_failed_has_error"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued"]) | Q(started_at__isnull=False),
                name="analysis_run_started_unless_queued",
            ),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.status})"

    @property
    def result(self) -> dict | None:
        """The bundle this run shows: its own, or the one of the run it reused."""
        if self.reused_from_id is not None:
            return self.reused_from.bundle
        return self.bundle

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class AnalysisRow(models.Model):
    """A locked casebook's row of the engine's patient table (analysis-contract.md section 1),
    written in the transaction of its lock and removed in that of its unlock (issue 16).

    A run reads this narrow table with one query instead of rebuilding every locked casebook
    from its CRF parts. ``analysed`` is false for a locked casebook without a second-line start
    (counted as locked, not analysed; its contract columns stay empty). ``manage.py
    analysis_rows --verify`` proves the rows equal a full rebuild; ``--rebuild`` repairs them.
    """

    patient = models.OneToOneField(
        "registry.Patient", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The patients' own order (centre code, sequence): the tables' row order.
    sequence = models.PositiveIntegerField()
    analysed = models.BooleanField()
    study_id = models.CharField(max_length=30)
    center = models.CharField(max_length=10)
    age_years = models.FloatField(null=True)
    sex = models.CharField(max_length=1, null=True)
    smoking = models.CharField(max_length=10, null=True)
    bmi = models.FloatField(null=True)
    ecog = models.SmallIntegerField(null=True)
    brain_mets = models.SmallIntegerField(null=True)
    liver_mets = models.SmallIntegerField(null=True)
    prior_thoracic_rt = models.SmallIntegerField(null=True)
    l2_radiotherapy = models.SmallIntegerField(null=True)
    l2_antiangiogenic = models.SmallIntegerField(null=True)
    l1_pfs_months = models.FloatField(null=True)
    dpr_pct = models.FloatField(null=True)
    os_months = models.FloatField(null=True)
    os_event = models.SmallIntegerField(null=True)
    pfs_months = models.FloatField(null=True)
    pfs_event = models.SmallIntegerField(null=True)
    l2_best_response = models.CharField(max_length=2, null=True)

    class Meta:
        indexes = [models.Index(fields=["center", "sequence"])]

    def __str__(self) -> str:
        return f"analysis row of {self.study_id}"


class AnalysisAdverseEventRow(models.Model):
    """A row of the engine's adverse-event table (contract section 2), kept like AnalysisRow."""

    patient = models.ForeignKey(
        "registry.Patient", on_delete=models.CASCADE, related_name="+", db_index=True
    )
    # The patient's order (as AnalysisRow's), then the definition's order within the patient.
    center = models.CharField(max_length=10)
    sequence = models.PositiveIntegerField()
    position = models.PositiveIntegerField()
    study_id = models.CharField(max_length=30)
    term = models.CharField(max_length=80)
    grade = models.SmallIntegerField(null=True)
    immune_related = models.SmallIntegerField(null=True)
    onset_day = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["center", "sequence", "position"])]

    def __str__(self) -> str:
        return f"adverse-event row {self.position} of {self.study_id}"
