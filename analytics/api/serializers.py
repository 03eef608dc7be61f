"""Input and output serializers of the analysis endpoints."""

from __future__ import annotations

from rest_framework import serializers

from analytics.models import AnalysisRun
from core.api.serializers import StrictCharField

# -- analysis ----------------------------------------------------------------


class AnalysisPlanOutput(serializers.Serializer):
    version = serializers.IntegerField(help_text="Plan version; saving a changed plan adds one.")
    name = serializers.CharField(help_text="The plan's own name (may be empty).")
    plan = serializers.JSONField(help_text="The plan JSON of analysis-contract.md section 3.")
    plan_sha256 = serializers.CharField(help_text="Engine hash of the normalised plan.")
    note = serializers.CharField(help_text="What changed, and why (may be empty).")
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, default=None, help_text="null: seeded."
    )
    created_at = serializers.DateTimeField()


class AnalysisPlanInput(serializers.Serializer):
    plan = serializers.JSONField(
        help_text="The plan JSON object; validated by the analysis engine itself."
    )
    note = StrictCharField(
        max_length=300, required=False, allow_blank=True, help_text="What changed, and why."
    )

    def validate_plan(self, value):
        # PostgreSQL's jsonb cannot store U+0000: refuse it here rather than fail on save.
        def has_nul(node) -> bool:
            if isinstance(node, str):
                return "\x00" in node
            if isinstance(node, dict):
                return any(has_nul(k) or has_nul(v) for k, v in node.items())
            if isinstance(node, list):
                return any(has_nul(v) for v in node)
            return False

        if has_nul(value):
            raise serializers.ValidationError("Null characters are not allowed.")
        return value


class AnalysisRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AnalysisRun.Status.choices)
    progress = serializers.IntegerField(help_text="Percent, 0–100.")
    step = serializers.CharField(help_text="What the run is doing now (may be empty).")
    trigger = serializers.ChoiceField(choices=AnalysisRun.Trigger.choices)
    triggered_by = serializers.CharField(
        source="triggered_by.username", allow_null=True, default=None
    )
    plan_version = serializers.IntegerField(
        source="plan.version",
        allow_null=True,
        default=None,
        help_text="null while queued: a run computes the plan current when it starts.",
    )
    dataset_sha256 = serializers.CharField(help_text="Hash of the locked data computed on.")
    n_locked = serializers.IntegerField(allow_null=True)
    n_analysed = serializers.IntegerField(
        allow_null=True, help_text="Locked casebooks with a 2L start (the analysis index)."
    )
    reused_from = serializers.IntegerField(
        source="reused_from_id",
        allow_null=True,
        help_text="A finished run on the same data and plan whose bundle this run shows.",
    )
    coalesced = serializers.IntegerField(help_text="Later triggers folded into this run.")
    final_at = serializers.DateTimeField(
        allow_null=True, help_text="When a PI marked these the numbers to publish; null if not."
    )
    final_by = serializers.CharField(source="final_by.username", allow_null=True, default=None)
    error = serializers.CharField(help_text="Why the run failed (empty unless failed).")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)


class AnalysisRunDetailOutput(AnalysisRunOutput):
    bundle = serializers.JSONField(
        source="result",
        allow_null=True,
        help_text="The engine's result bundle (analysis-contract.md section 4); null until "
        "the run is done. A reusing run shows the bundle of the run it reused.",
    )


class AnalysisLatestOutput(AnalysisRunDetailOutput):
    changes = serializers.ListField(
        child=serializers.CharField(),
        help_text="What changed since the previous finished run, as on the dashboard.",
    )
