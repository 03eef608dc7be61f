"""Input and output serializers of the query endpoints, one pair per view (HackSoft style).

Inputs parse types only; who may do what, the centre scope, the target's validation and
the lock and version rules are ``quality.services``' (and, for a correction, the
registry's own ``crf_record_save``), so the API's messages are the pages'.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictCharField, StrictChoiceField, StrictIntegerField
from quality.models import Query, QueryMessage
from quality.services import EMPTY_CORRECTION, TEXT_MAX_LENGTH
from registry import choices as c
from registry.api import serializers as registry_serializers
from registry.api.views import PARTS

# The registry API's input serializer of each part: a corrected value is parsed by the very
# field that would parse it in a PATCH of that part, so its JSON type is as strict there.
_PART_INPUT = {
    c.Section.REGISTRATION: registry_serializers.RegistrationUpdateInput,
    **{section: input_serializer for section, _model, input_serializer, _output in PARTS.values()},
}

_TEXT_HELP = f"At most {TEXT_MAX_LENGTH} characters."


# -- inputs ---------------------------------------------------------------------------------


class QueryCreateInput(serializers.Serializer):
    patient = StrictCharField(help_text="Study id, e.g. BJ-0042; one you may not see is 404.")
    section = StrictChoiceField(
        choices=c.Section.choices,
        required=False,
        help_text="The part asked about (leave out for the whole casebook).",
    )
    record = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Record id in a repeating part (assessments, adverse_events, follow_up); "
        "required with a field of such a part.",
    )
    field = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=60,
        help_text="The field asked about, e.g. weight_kg (leave out for the whole part).",
    )
    text = StrictCharField(max_length=TEXT_MAX_LENGTH, help_text=f"The question. {_TEXT_HELP}")


class CorrectionInput(serializers.Serializer):
    value = serializers.JSONField(
        allow_null=True,
        help_text="The corrected value of the query's field, typed as in a PATCH of its part "
        "(a number for weight_kg, a 'YYYY-MM-DD' string for a date; null clears it).",
    )
    version = StrictIntegerField(min_value=1, help_text="The version of the record you read.")


class QueryAnswerInput(serializers.Serializer):
    """Needs the query in the context ("query"): its part says how to parse the value."""

    text = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=TEXT_MAX_LENGTH,
        help_text=f"The answer; required unless a correction is sent. {_TEXT_HELP}",
    )
    correction = CorrectionInput(
        required=False, help_text="Correct the query's field while answering."
    )

    def validate(self, attrs):
        correction = attrs.get("correction")
        if correction is None:
            return attrs
        query: Query = self.context["query"]
        if not query.field:
            raise serializers.ValidationError(
                {"correction": [_("This query is about a whole part: correct it on the form.")]}
            )
        parser = _PART_INPUT[query.section](data={query.field: correction["value"]}, partial=True)
        if not parser.is_valid():
            errors = parser.errors.get(query.field) or parser.errors
            raise serializers.ValidationError({"correction": {"value": errors}})
        correction["value"] = parser.validated_data[query.field]
        if correction["value"] in (None, ""):
            raise serializers.ValidationError({"correction": {"value": [EMPTY_CORRECTION]}})
        return attrs


class QueryCloseInput(serializers.Serializer):
    text = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=TEXT_MAX_LENGTH,
        help_text=f"Why it is closed (optional). {_TEXT_HELP}",
    )


class QueryReopenInput(serializers.Serializer):
    text = StrictCharField(
        max_length=TEXT_MAX_LENGTH, help_text=f"Why it goes back to the site. {_TEXT_HELP}"
    )


# -- outputs --------------------------------------------------------------------------------


class CorrectionOutput(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField(allow_null=True, help_text="null for an identifier field.")
    new = serializers.CharField(allow_null=True, help_text="null for an identifier field.")
    version = serializers.IntegerField(help_text="The record's version after the correction.")


class QueryMessageOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=QueryMessage.Kind.choices)
    author = serializers.CharField(
        source="author.username", allow_null=True, default=None, help_text="null: a rule."
    )
    at = serializers.DateTimeField()
    text = serializers.CharField(allow_blank=True)
    correction = serializers.SerializerMethodField(
        help_text="The value corrected with this answer; null for any other message."
    )

    @extend_schema_field(CorrectionOutput(allow_null=True))
    def get_correction(self, message: QueryMessage):
        correction = message.detail.get("correction")
        return CorrectionOutput(correction).data if correction else None


class QueryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.CharField(source="patient.study_id", help_text="Study id.")
    center = serializers.CharField(source="patient.center.code", help_text="Centre code.")
    section = serializers.ChoiceField(
        choices=c.Section.choices, allow_blank=True, help_text="Empty: the whole casebook."
    )
    record = serializers.IntegerField(
        source="record_id", allow_null=True, help_text="The record of a repeating part."
    )
    field = serializers.CharField(allow_blank=True, help_text="Empty: the whole part.")
    where = serializers.CharField(help_text="Casebook, part or part #record field, as shown.")
    value_at_raise = serializers.CharField(
        allow_blank=True,
        help_text="The field's value when the query was raised (empty for an identifier).",
    )
    status = serializers.ChoiceField(choices=Query.Status.choices)
    origin = serializers.ChoiceField(choices=Query.Origin.choices)
    rule_code = serializers.CharField(
        help_text="The data-quality rule that raised it (docs/quality.md); empty if a person did."
    )
    raised_by = serializers.CharField(
        source="raised_by.username", allow_null=True, default=None, help_text="null: a rule."
    )
    raised_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True, help_text="The latest answer.")
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)
    messages = QueryMessageOutput(many=True, help_text="The thread, oldest first.")


# -- source data verification ---------------------------------------------------------------


class VerificationCreateInput(serializers.Serializer):
    section = StrictChoiceField(choices=c.Section.choices, help_text="The part verified.")
    record = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Record id in a repeating part (assessments, adverse_events, follow_up); "
        "required there, left out for the registration and single parts.",
    )
    fields = serializers.ListField(
        child=StrictCharField(max_length=60),
        required=False,
        allow_empty=True,
        max_length=100,
        help_text='The fields verified, e.g. ["weight_kg"]; left out or empty: the whole '
        "part or record.",
    )


class VerificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.CharField(source="patient.study_id", help_text="Study id.")
    section = serializers.ChoiceField(choices=c.Section.choices)
    record = serializers.IntegerField(
        source="record_id", allow_null=True, help_text="The record of a repeating part."
    )
    field = serializers.CharField(allow_blank=True, help_text="Empty: the whole part or record.")
    value_at_verification = serializers.CharField(
        allow_blank=True, help_text="The value verified (empty for a part or an identifier)."
    )
    verified_by = serializers.CharField(source="verified_by.username")
    verified_at = serializers.DateTimeField()
    valid = serializers.BooleanField(source="is_valid", help_text="False once dropped.")
    dropped_at = serializers.DateTimeField(
        allow_null=True, help_text="When a change to the value dropped it; null while valid."
    )


# -- my work ----------------------------------------------------------------------------------


class WorkListOutput(serializers.Serializer):
    key = serializers.CharField(help_text="e.g. open_queries, ready_to_sign, answered_queries.")
    title = serializers.CharField()
    count = serializers.IntegerField()
    url = serializers.CharField(help_text='The list on the "my work" page.')


class MyWorkOutput(serializers.Serializer):
    lists = WorkListOutput(many=True)
    unread_notifications = serializers.IntegerField()
