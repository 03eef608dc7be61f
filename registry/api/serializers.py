"""Input and output serializers, one pair per view (HackSoft style).

Input serializers only parse types (dates, numbers, enumerations) so that a
service never receives a value it cannot compare; every rule with a clinical
meaning (ranges, cross-field and cross-part rules, permissions, locks) is
checked by ``registry.services``, so the API's messages are the pages'.
Output serializers mask direct identifiers for users who may not see them.
"""

from __future__ import annotations

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.models import AnalysisRun
from registry import choices as c
from registry import services
from registry.api.exceptions import ERROR_CODES
from registry.api.models import ApiToken
from registry.models import (
    AdverseEvent,
    AuditEvent,
    Baseline,
    Center,
    ExportJob,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    Signature,
    TumourAssessment,
)
from registry.services import REGISTRATION_EDITABLE, SIGNATURE_MEANING

# Strict JSON types. DRF by default turns "true" into True, "5" into 5 and 7 into "7"; a
# client that sends the wrong type has a bug we should tell it about, not guess around.


def _refuse_type(field: serializers.Field, data, expected: str) -> None:
    field.fail("strict_type", expected=expected, got=type(data).__name__)


_STRICT_MESSAGE = {"strict_type": "Expected {expected}, got {got}."}


class StrictCharField(serializers.CharField):
    default_error_messages = _STRICT_MESSAGE

    def to_internal_value(self, data):
        if not isinstance(data, str):
            _refuse_type(self, data, "a string")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = _STRICT_MESSAGE

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            _refuse_type(self, data, "true or false")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = _STRICT_MESSAGE

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            _refuse_type(self, data, "a whole number")
        return super().to_internal_value(data)


class NumberDecimalField(serializers.DecimalField):
    """Decimals as JSON numbers: what R's jsonlite and Python's json expect for measurements."""

    default_error_messages = _STRICT_MESSAGE

    def __init__(self, *args, **kwargs):
        kwargs["coerce_to_string"] = False
        super().__init__(*args, **kwargs)

    def validate_empty_values(self, data):
        # DRF reads "" as null for a nullable decimal; JSON has null for that.
        if isinstance(data, str):
            _refuse_type(self, data, "a number")
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            _refuse_type(self, data, "a number")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = _STRICT_MESSAGE

    def to_internal_value(self, data):
        if not isinstance(data, str):
            _refuse_type(self, data, "a string")
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    default_error_messages = _STRICT_MESSAGE

    def to_internal_value(self, data):
        if not isinstance(data, str):
            _refuse_type(self, data, "a date string (YYYY-MM-DD)")
        return super().to_internal_value(data)


class _ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: NumberDecimalField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.IntegerField: StrictIntegerField,
        models.DateField: StrictDateField,
    }
    serializer_choice_field = StrictChoiceField


# -- errors ---------------------------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=list(ERROR_CODES.items()), help_text="Machine-readable; see the enum's meanings."
    )
    message = serializers.CharField(help_text="One sentence for a person, naming the field.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field; '__all__' for the request as a whole.",
    )


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


# -- centres and users ----------------------------------------------------------------------


class CenterOutput(_ModelSerializer):
    class Meta:
        model = Center
        fields = ["code", "name"]


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")
    email = serializers.CharField(help_text="May be empty.")
    role = serializers.ChoiceField(choices=c.Role.choices)
    center = CenterOutput(allow_null=True)
    sees_all_centers = serializers.BooleanField()
    can_edit_crf = serializers.BooleanField()
    can_lock = serializers.BooleanField()
    can_unlock = serializers.BooleanField()
    signature_meaning = serializers.SerializerMethodField(
        help_text="The statement a casebook lock must confirm, verbatim."
    )

    def get_signature_meaning(self, obj) -> str:
        return SIGNATURE_MEANING


# -- tokens ---------------------------------------------------------------------------------


TOKEN_STATUS_CHOICES = [("active", "Usable"), ("expired", "Past expiry"), ("revoked", "Revoked")]


class TokenOutput(_ModelSerializer):
    status = serializers.ChoiceField(choices=TOKEN_STATUS_CHOICES)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "status"]


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(help_text="The secret. Shown once: store it now.")

    class Meta(TokenOutput.Meta):
        fields = [*TokenOutput.Meta.fields, "token"]


class TokenCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=100)
    days = StrictIntegerField(
        required=False, min_value=1, help_text="Validity in days (default 90, at most 365)."
    )


class TokenObtainInput(TokenCreateInput):
    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)
    name = StrictCharField(max_length=100, required=False, default="API client")


# -- patients -------------------------------------------------------------------------------


class _MasksIdentifiers:
    """Identifier fields become null for users who may not see them (context 'identifiers')."""

    def get_fields(self):
        fields = super().get_fields()
        for name in self.Meta.model.identifier_fields:
            if name in fields:
                fields[name].allow_null = True
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("identifiers", False):
            for name in self.Meta.model.identifier_fields:
                if name in data:
                    data[name] = None
        return data


class PatientListOutput(_ModelSerializer):
    center = serializers.CharField(source="center.code", help_text="Centre code.")
    locked = serializers.BooleanField(source="is_locked")

    class Meta:
        model = Patient
        fields = [
            "study_id",
            "center",
            "sex",
            "registration_date",
            "enrolment_status",
            "screen_failure_reason",
            "casebook_status",
            "locked",
            "version",
            "created_at",
            "updated_at",
        ]


class RegistrationOutput(_MasksIdentifiers, _ModelSerializer):
    center = serializers.CharField(source="center.code", help_text="Centre code.")

    class Meta:
        model = Patient
        fields = [
            "study_id",
            "center",
            *REGISTRATION_EDITABLE,
            "enrolment_status",
            "screen_failure_reason",
            "casebook_status",
            "version",
            "updated_at",
        ]


class PatientRegisterInput(_ModelSerializer):
    center = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Center.objects.all(),
        required=False,
        help_text="Centre code. Site staff may omit it (own centre) and may not name another.",
    )

    class Meta:
        model = Patient
        fields = ["center", *REGISTRATION_EDITABLE]
        # Uniqueness (MRN per centre) is the service's rule, with the pages' message.
        validators: list = []


class _Versioned(serializers.Serializer):
    version = StrictIntegerField(
        required=False,
        min_value=1,
        help_text="The version you read. Required to change a record (or send If-Match).",
    )
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=services.CHANGE_REASON_MAX_LENGTH,
        help_text="Why the change; required once the part was marked complete.",
    )


class RegistrationUpdateInput(_Versioned, _ModelSerializer):
    class Meta:
        model = Patient
        fields = [*REGISTRATION_EDITABLE, "version", "reason"]
        validators: list = []


# -- CRF parts ------------------------------------------------------------------------------


def _crf_fields(model) -> list[str]:
    return [f.name for f in model._meta.fields if f.editable and f.name not in ("id", "patient")]


def _output(model, name: str):
    meta = type(
        "Meta", (), {"model": model, "fields": ["id", *_crf_fields(model), "version", "updated_at"]}
    )
    return type(name, (_MasksIdentifiers, _ModelSerializer), {"Meta": meta})


def _input(model, name: str):
    meta = type(
        "Meta",
        (),
        {"model": model, "fields": [*_crf_fields(model), "version", "reason"], "validators": []},
    )
    return type(name, (_Versioned, _ModelSerializer), {"Meta": meta})


BaselineOutput = _output(Baseline, "BaselineOutput")
FirstLineOutput = _output(FirstLineTherapy, "FirstLineOutput")
SecondLineOutput = _output(SecondLineTherapy, "SecondLineOutput")
AssessmentOutput = _output(TumourAssessment, "AssessmentOutput")
AdverseEventOutput = _output(AdverseEvent, "AdverseEventOutput")
FollowUpOutput = _output(FollowUp, "FollowUpOutput")

BaselineInput = _input(Baseline, "BaselineInput")
FirstLineInput = _input(FirstLineTherapy, "FirstLineInput")
SecondLineInput = _input(SecondLineTherapy, "SecondLineInput")
AssessmentInput = _input(TumourAssessment, "AssessmentInput")
AdverseEventInput = _input(AdverseEvent, "AdverseEventInput")
FollowUpInput = _input(FollowUp, "FollowUpInput")


class DeleteInput(serializers.Serializer):
    reason = StrictCharField(
        max_length=services.CHANGE_REASON_MAX_LENGTH,
        help_text="Why the record is deleted (kept in the audit trail).",
    )
    version = StrictIntegerField(
        required=False, min_value=1, help_text="The version you read (or send If-Match)."
    )


class DeleteQueryInput(serializers.Serializer):
    """The same as DeleteInput, from the query string (where every value is text)."""

    reason = serializers.CharField(max_length=services.CHANGE_REASON_MAX_LENGTH)
    version = serializers.IntegerField(required=False, min_value=1)


# -- casebook -------------------------------------------------------------------------------


class SignatureOutput(_ModelSerializer):
    signed_by = serializers.CharField(source="signed_by.username")

    class Meta:
        model = Signature
        fields = ["signed_by", "signed_at", "meaning"]


SECTION_STATUS_CHOICES = [
    ("not started", "No data entered"),
    ("incomplete", "Data entered, not marked complete"),
    ("complete", "Marked complete"),
]


class SectionStatusOutput(serializers.Serializer):
    """'not started', 'incomplete' or 'complete' for each part."""

    def get_fields(self):
        return {
            s: serializers.ChoiceField(choices=SECTION_STATUS_CHOICES) for s in c.Section.values
        }


class CasebookOutput(serializers.Serializer):
    study_id = serializers.CharField(source="patient.study_id")
    center = CenterOutput(source="patient.center")
    enrolment_status = serializers.ChoiceField(
        source="patient.enrolment_status", choices=c.EnrolmentStatus.choices
    )
    casebook_status = serializers.ChoiceField(
        source="patient.casebook_status", choices=c.CasebookStatus.choices
    )
    locked = serializers.BooleanField(source="patient.is_locked")
    version = serializers.IntegerField(source="patient.version")
    registration = RegistrationOutput(source="patient")
    baseline = BaselineOutput(allow_null=True)
    first_line = FirstLineOutput(allow_null=True)
    second_line = SecondLineOutput(allow_null=True)
    assessments = AssessmentOutput(many=True)
    adverse_events = AdverseEventOutput(many=True)
    follow_ups = FollowUpOutput(many=True)
    sections = serializers.SerializerMethodField()
    signature = serializers.SerializerMethodField()

    @extend_schema_field(SectionStatusOutput)
    def get_sections(self, book) -> dict:
        return {s: book.section_status(s) for s in c.Section.values}

    @extend_schema_field(SignatureOutput(allow_null=True))
    def get_signature(self, book):
        signature = self.context.get("signature")
        return SignatureOutput(signature).data if signature else None


class CasebookStateOutput(serializers.Serializer):
    study_id = serializers.CharField()
    casebook_status = serializers.ChoiceField(choices=c.CasebookStatus.choices)
    locked = serializers.BooleanField(source="is_locked")
    version = serializers.IntegerField()


class SectionCompleteOutput(serializers.Serializer):
    section = serializers.ChoiceField(choices=c.Section.choices)
    completed_at = serializers.DateTimeField()
    completed_by = serializers.CharField(source="completed_by.username")


class LockInput(serializers.Serializer):
    password = StrictCharField(
        trim_whitespace=False, style={"input_type": "password"}, help_text="Your password, again."
    )
    meaning = StrictCharField(
        help_text="The signature statement, verbatim (GET /me/ gives it as signature_meaning)."
    )


class LockOutput(CasebookStateOutput):
    signature = SignatureOutput()


class UnlockInput(serializers.Serializer):
    reason = StrictCharField(max_length=1000, help_text="Why the casebook is reopened.")


class FieldChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField(allow_null=True)
    new = serializers.CharField(allow_null=True)


class HistoryEntryOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    kind = serializers.ChoiceField(
        choices=[
            ("created", "Record created"),
            ("changed", "Record changed"),
            ("deleted", "Record deleted"),
            *[(f"event:{a}", label) for a, label in AuditEvent.Action.choices],
        ]
    )
    section = serializers.CharField(allow_null=True)
    record_id = serializers.IntegerField(allow_null=True)
    changes = FieldChangeOutput(many=True)
    reason = serializers.CharField(allow_blank=True)
    detail = serializers.DictField()


# -- analysis (analytics app) ----------------------------------------------------------------


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
        "registry.export_identified permission only, with a reason.",
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
