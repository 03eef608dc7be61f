"""Input and output serializers of the data-cut endpoints."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictCharField
from publication.models import DataCut


class DataCutInput(serializers.Serializer):
    name = StrictCharField(
        max_length=DataCut._meta.get_field("name").max_length,
        help_text='A name no cut has yet (compared without case), e.g. "Manuscript v1".',
    )
    note = StrictCharField(
        max_length=DataCut._meta.get_field("note").max_length,
        required=False,
        allow_blank=True,
        help_text="What the cut is for.",
    )


class DataCutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    note = serializers.CharField(help_text="May be empty.")
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    plan_version = serializers.IntegerField(help_text="The AnalysisPlan version frozen.")
    plan_sha256 = serializers.CharField(help_text="Engine hash of the normalised plan.")
    engine_version = serializers.CharField(help_text="Version of analytics.stats.")
    dataset_sha256 = serializers.CharField(
        help_text="The engine's hash of the frozen patient and adverse-event tables."
    )
    n_locked = serializers.IntegerField(help_text="Locked casebooks when frozen.")
    n_analysed = serializers.IntegerField(help_text="Of them, with a 2L start (analysed).")
    n_adverse_events = serializers.IntegerField()
    bundle_from_run = serializers.IntegerField(
        source="bundle_from_run_id",
        allow_null=True,
        help_text="The finished analysis run whose bundle was reused; null: computed at freeze.",
    )


class LockedPatientOutput(serializers.Serializer):
    study_id = serializers.CharField()
    version = serializers.IntegerField(help_text="Casebook version when frozen.")
    lock_event = serializers.IntegerField(allow_null=True, help_text="The lock's audit event.")
    locked_at = serializers.DateTimeField(allow_null=True)


class DataCutDetailOutput(DataCutOutput):
    plan = serializers.JSONField(help_text="The plan JSON as saved (analysis-contract.md §3).")
    bundle = serializers.JSONField(help_text="The frozen result bundle (analysis-contract.md §4).")
    locked_patients = LockedPatientOutput(many=True)
