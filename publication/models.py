"""Named data cuts: the locked data, plan and engine version frozen under a name.

A cut is the answer to "which numbers did the manuscript print, and from what?": it keeps
the analysis tables the bundle was computed from (the contract's patient and adverse-event
tables), the plan, the engine version, the bundle itself and which casebooks were locked at
which lock event. It is written once by ``services.cut_freeze`` and never changed: on
PostgreSQL a trigger refuses UPDATE and DELETE (migration 0001), like the audit trail.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DataCut(models.Model):
    name = models.CharField(
        max_length=100, unique=True, help_text='A human name, e.g. "Manuscript v1".'
    )
    note = models.CharField(max_length=500, blank=True, help_text="What the cut is for.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_cuts"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # The plan as it was: the JSON, its engine hash and the AnalysisPlan version.
    # blank: an empty plan, {}, is a valid one (every option at its default).
    plan = models.JSONField(blank=True, help_text="The plan JSON (analysis-contract.md section 3).")
    plan_sha256 = models.CharField(max_length=64)
    plan_version = models.PositiveIntegerField()
    engine_version = models.CharField(max_length=20, help_text="analytics.stats.__version__")

    # The engine's input tables as CSV text (analysis-contract.md sections 1 and 2), with
    # real study ids and centre codes: the kit de-identifies them when it is built.
    patients_csv = models.TextField()
    adverse_events_csv = models.TextField()
    dataset_sha256 = models.CharField(
        max_length=64, db_index=True, help_text="The engine's dataset hash of the two tables."
    )
    bundle = models.JSONField(help_text="The result bundle computed on these tables and plan.")
    bundle_from_run = models.ForeignKey(
        "analytics.AnalysisRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_cuts",
        help_text="The finished run whose bundle (same data, same plan) the cut reused.",
    )
    locked_patients = models.JSONField(
        help_text="[{study_id, version, lock_event, locked_at}] of every locked casebook."
    )
    # What the manuscript pack draws besides the tables, as it stood at the freeze: the flow
    # diagram's counts and the second-line treatment durations of the swimmer plot.
    flow = models.JSONField(default=dict, blank=True)
    treatment_csv = models.TextField(blank=True)
    n_locked = models.PositiveIntegerField()
    n_analysed = models.PositiveIntegerField(help_text="Rows of the patient table.")
    n_adverse_events = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="data_cut_name_not_blank"),
            models.CheckConstraint(
                condition=Q(n_analysed__lte=models.F("n_locked")),
                name="data_cut_analysed_le_locked",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Written once by services.cut_freeze; on PostgreSQL the trigger also stops raw SQL.
        if not self._state.adding:
            raise FrozenCutError(f"data cut {self.name!r} is frozen: it is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise FrozenCutError(f"data cut {self.name!r} is frozen: it is never deleted")


class FrozenCutError(Exception):
    """A frozen cut was about to be changed or deleted through the ORM."""
