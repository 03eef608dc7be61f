"""Input and output serializers of the export endpoints."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictBooleanField, StrictCharField, StrictChoiceField
from exchange.models import ExportJob, ImportJob

# -- exports ---------------------------------------------------------------------------------


class ExportCreateInput(serializers.Serializer):
    centers = serializers.ListField(
        child=StrictCharField(max_length=20),
        required=False,
        help_text="Centre codes; empty or left out: every centre you may export "
        "(site staff: their own only).",
    )
    locked_only = StrictBooleanField(
        required=False, default=True, help_text="Only locked casebooks (as the dashboard)."
    )
    formats = serializers.ListField(
        child=StrictChoiceField(
            choices=[
                ("csv", "CSV (always included)"),
                ("xlsx", "Excel"),
                ("sav", "SPSS"),
                ("redcap", "REDCap"),
            ]
        ),
        required=False,
        help_text="CSV files are always included.",
    )
    date_mode = StrictChoiceField(
        choices=ExportJob.DateMode.choices, required=False, default="relative"
    )
    recipient = StrictCharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Name a recipient to give them the same pseudonyms in every export.",
    )
    coarsen_centers = StrictBooleanField(
        required=False, default=False, help_text="Relabel centres as centre A, B, …"
    )
    identified = StrictBooleanField(
        required=False,
        default=False,
        help_text="Identifiers, real dates and study ids: administrators with the "
        "exchange.export_identified permission only, with a reason.",
    )
    reason = StrictCharField(required=False, allow_blank=True, default="")


class ExportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ExportJob.Status.choices)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    centers = serializers.ListField(child=serializers.CharField())
    locked_only = serializers.BooleanField()
    formats = serializers.ListField(child=serializers.CharField())
    identified = serializers.BooleanField()
    reason = serializers.CharField()
    date_mode = serializers.ChoiceField(choices=ExportJob.DateMode.choices)
    recipient = serializers.CharField()
    coarsen_centers = serializers.BooleanField()
    file_name = serializers.CharField(help_text="Empty until done.")
    file_size = serializers.IntegerField(allow_null=True, help_text="Bytes.")
    file_sha256 = serializers.CharField()
    row_counts = serializers.DictField(child=serializers.IntegerField())
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="The download link's end (EXPORT_LINK_TTL_HOURS)."
    )
    error = serializers.CharField(help_text="Why it failed (empty unless failed).")
    download_url = serializers.SerializerMethodField(
        help_text="GET it for the ZIP; null unless done and not expired."
    )

    def get_download_url(self, job) -> str | None:
        from django.urls import reverse
        from django.utils import timezone

        if job.status != ExportJob.Status.DONE or not job.expires_at:
            return None
        if job.expires_at <= timezone.now():
            return None
        return reverse("api:export-download", args=[job.pk])


# -- imports ---------------------------------------------------------------------------------


class ImportCreateInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="The XLSX template (.xlsx), an export ZIP (.zip) or REDCap records (.csv)."
    )
    format = StrictChoiceField(
        choices=ImportJob.Format.choices,
        required=False,
        help_text="Left out: from the file name (.xlsx, .zip, .csv).",
    )
    center = StrictCharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Import into this centre only (site staff: always their own).",
    )
    skip_invalid_patients = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Import the patients without errors and report the others "
        "(default: nothing is imported while any row has an error).",
    )


class ImportProblemOutput(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["error", "warning", "conflict"])
    sheet = serializers.CharField()
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    study_id = serializers.CharField()


class ImportChangeOutput(serializers.Serializer):
    study_id = serializers.CharField(help_text="The study id in the file.")
    registry_id = serializers.CharField(help_text="The registry's study id; empty for a new one.")
    valid = serializers.BooleanField(help_text="The patient has no error (it can be imported).")
    sheet = serializers.CharField()
    row = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["create", "update"])
    fields = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
        help_text="[column, old value, new value] of each change.",
    )


class ImportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImportJob.Status.choices)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    file_name = serializers.CharField()
    file_size = serializers.IntegerField(help_text="Bytes.")
    file_sha256 = serializers.CharField()
    format = serializers.CharField(source="file_format")
    center = serializers.SerializerMethodField()
    skip_invalid_patients = serializers.BooleanField()
    progress_percent = serializers.IntegerField()
    counts = serializers.DictField(
        child=serializers.JSONField(),
        help_text="patients_created/updated/unchanged/invalid, records_created/updated/"
        "unchanged, errors, warnings.",
    )
    problems = ImportProblemOutput(many=True, help_text="The first problems (sheet, row, column).")
    changes = ImportChangeOutput(many=True, help_text="The first changes (old → new).")
    study_ids = serializers.DictField(
        child=serializers.CharField(), help_text="File study id → registry study id, once done."
    )
    can_commit = serializers.BooleanField(help_text="POST …/commit/ would be accepted.")
    error = serializers.CharField(help_text="Why it failed (empty unless failed).")
    commit_url = serializers.SerializerMethodField()

    def get_center(self, job) -> str:
        return job.center.code if job.center_id else ""

    def get_commit_url(self, job) -> str | None:
        from django.urls import reverse

        return reverse("api:import-commit", args=[job.pk]) if job.can_commit else None
