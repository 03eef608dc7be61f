"""Input and output serializers, one pair per view (HackSoft style).

Input serializers only parse types (dates, numbers, enumerations) so that a
service never receives a value it cannot compare; every rule with a clinical
meaning (ranges, cross-field and cross-part rules, permissions, locks) is
checked by ``registry.services``, so the API's messages are the pages'.
Output serializers mask direct identifiers for users who may not see them.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import (
    ModelSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
)
from core.roles import Role
from registry import choices as c
from registry import services
from registry.models import (
    AdverseEvent,
    AuditEvent,
    Baseline,
    Center,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    Signature,
    TumourAssessment,
)
from registry.services import REGISTRATION_EDITABLE, SIGNATURE_MEANING

# -- centres and users ----------------------------------------------------------------------


class CenterOutput(ModelSerializer):
    class Meta:
        model = Center
        fields = ["code", "name"]


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")
    email = serializers.CharField(help_text="May be empty.")
    role = serializers.ChoiceField(choices=Role.choices)
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


class PatientListOutput(ModelSerializer):
    center = serializers.CharField(source="center.code", help_text="Centre code.")
    locked = serializers.BooleanField(source="is_locked")

    # The columns these fields read (``locked`` is the casebook status): the list loads only
    # them, not the forty-odd of the whole registration.
    columns = (
        "study_id",
        "center__code",
        "sex",
        "registration_date",
        "enrolment_status",
        "screen_failure_reason",
        "casebook_status",
        "version",
        "created_at",
        "updated_at",
    )

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


class RegistrationOutput(_MasksIdentifiers, ModelSerializer):
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
            "no_adverse_events",
            "version",
            "updated_at",
        ]


class PatientRegisterInput(ModelSerializer):
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


class RegistrationUpdateInput(_Versioned, ModelSerializer):
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
    return type(name, (_MasksIdentifiers, ModelSerializer), {"Meta": meta})


def _input(model, name: str):
    meta = type(
        "Meta",
        (),
        {"model": model, "fields": [*_crf_fields(model), "version", "reason"], "validators": []},
    )
    return type(name, (_Versioned, ModelSerializer), {"Meta": meta})


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


class SignatureOutput(ModelSerializer):
    signed_by = serializers.CharField(source="signed_by.username")

    class Meta:
        model = Signature
        fields = ["signed_by", "signed_at", "meaning"]


class SectionStatusOutput(serializers.Serializer):
    """'not started', 'incomplete' or 'complete' for each part."""

    def get_fields(self):
        return {
            s: serializers.ChoiceField(choices=c.SectionStatus.choices) for s in c.Section.values
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


class NoAdverseEventsInput(serializers.Serializer):
    confirmed = StrictBooleanField(
        default=True, help_text="true: no adverse event occurred; false: withdraw that."
    )
    reason = StrictCharField(
        max_length=services.CHANGE_REASON_MAX_LENGTH,
        required=False,
        default="",
        help_text="Required once the adverse-event part is marked complete.",
    )


class NoAdverseEventsOutput(CasebookStateOutput):
    no_adverse_events = serializers.BooleanField()


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


# The history serializers read registry.selectors' HistoryEntry and FieldChange as they are:
# values as text, a hidden identifier as null.
class FieldChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField(allow_null=True)
    new = serializers.CharField(allow_null=True)


class HistoryKindField(serializers.ChoiceField):
    """One name for every kind of entry: an event's is ``event:<action>``."""

    def to_representation(self, entry):
        return f"event:{entry.action}" if entry.kind == "event" else entry.kind


class HistoryEntryOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(source="user.username", allow_null=True)
    kind = HistoryKindField(
        source="*",
        choices=[
            ("created", "Record created"),
            ("changed", "Record changed"),
            ("deleted", "Record deleted"),
            *[(f"event:{a}", label) for a, label in AuditEvent.Action.choices],
        ],
    )
    section = serializers.CharField(allow_null=True)
    record_id = serializers.IntegerField(allow_null=True)
    changes = FieldChangeOutput(many=True)
    reason = serializers.CharField(allow_blank=True)
    detail = serializers.DictField()
