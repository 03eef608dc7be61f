"""Serializer pieces every app's API shares: strict JSON types, the error body, tokens."""

from __future__ import annotations

import copy

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from core.api.models import ApiToken
from core.errors import DESCRIPTIONS, HTTP_STATUS

# Strict JSON types. DRF by default turns "true" into True, "5" into 5 and 7 into "7"; a
# client that sends the wrong type has a bug we should tell it about, not guess around.


def _refuse_type(field: serializers.Field, data, expected: str) -> None:
    field.fail("strict_type", expected=expected, got=type(data).__name__)


_STRICT_MESSAGE = {"strict_type": gettext_lazy("Expected {expected}, got {got}.")}


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


def _fresh_copy(field: serializers.Field) -> serializers.Field:
    """An unbound copy of a template field for one serializer instance.

    A plain field keeps no state beyond what ``bind`` sets on the copy, so a shallow copy
    does (its choices, validators and messages are only read); a field holding other fields
    (a nested serializer, a list's child, a many-relation) is copied deeply as DRF does, so
    that its children are bound to the copy. A deep copy of every field cost as much as
    building them (the choice lists are copied item by item).
    """
    holds_fields = hasattr(field, "child") or hasattr(field, "child_relation")
    if holds_fields or isinstance(field, serializers.BaseSerializer):
        return copy.deepcopy(field)
    return copy.copy(field)


class DateTimeField(serializers.DateTimeField):
    """DRF's, looking the current time zone up once per serializer instead of once per value.

    The lookup (a context-local read) was a third of the cost of writing a date-time; a page
    of 50 patients has 100 of them. A serializer lives for one request, in which the time
    zone does not change.
    """

    def default_timezone(self):
        try:
            return self._current_timezone
        except AttributeError:
            self._current_timezone = super().default_timezone()
            return self._current_timezone


def _plain_column(model, field: serializers.Field) -> str | None:
    """The model attribute ``field`` shows, if it is a plain column read as DRF would read it."""
    if type(field).get_attribute is not serializers.Field.get_attribute:
        return None  # relations, method fields… have lookups of their own
    if len(field.source_attrs) != 1:
        return None
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except FieldDoesNotExist:
        return None  # a property or a method
    if not model_field.concrete or model_field.is_relation:
        return None
    return model_field.attname


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
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

    def get_fields(self):
        # DRF rebuilds every field from the model's metadata for each serializer instance,
        # i.e. on every request (about 1 ms per serializer, several for a casebook's nine).
        # The fields depend on the class alone, so they are built once per class and each
        # instance gets its own copies to bind.
        cls = type(self)
        template = cls.__dict__.get("_field_template")
        if template is None:
            template = super().get_fields()
            cls._field_template = template
        return {name: _fresh_copy(field) for name, field in template.items()}

    def to_representation(self, instance):
        """DRF's, reading a field that shows one plain column of the model straight from it.

        DRF's generic attribute lookup (dotted sources, callables, dictionaries, missing
        relations, defaults) and its generator of readable fields were about a third of the
        cost of writing a page of 50 patients. For a column of the serializer's own model
        (not a relation, not a property, a field class that keeps DRF's lookup) it comes down
        to ``getattr``; every other field, and any instance that is not of the model (a
        dictionary of validated data), goes through DRF's lookup as before.
        """
        plan = self.__dict__.get("_representation_plan")
        if plan is None:
            plan = self._representation_plan = [
                (field.field_name, field, _plain_column(self.Meta.model, field))
                for field in self._readable_fields
            ]
        own_model = isinstance(instance, self.Meta.model)
        ret = {}
        for name, field, column in plan:
            if column is not None and own_model:
                attribute = getattr(instance, column)
            else:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret

    def to_internal_value(self, data):
        # A field the client may not write (casebook_status, center or study_id on a PATCH) is
        # refused by name; ignoring it answered 200, changed nothing, and bumped the version.
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = [name for name in data if name not in writable]
            if refused:
                raise serializers.ValidationError(
                    {name: [self._not_writable(name)] for name in refused}
                )
        return super().to_internal_value(data)

    def _not_writable(self, name: str) -> str:
        model_fields = {field.name for field in self.Meta.model._meta.get_fields()}
        if name in model_fields or name in self.fields:
            return _("Read-only here: it cannot be set in this request; nothing was changed.")
        return _("Unknown field; nothing was changed.")


# -- errors ---------------------------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[
            (code.value, f"{text} ({HTTP_STATUS[code]})") for code, text in DESCRIPTIONS.items()
        ],
        help_text="Machine-readable; see the enum's meanings.",
    )
    message = serializers.CharField(help_text="One sentence for a person, naming the field.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field; '__all__' for the request as a whole.",
    )


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


# -- tokens ---------------------------------------------------------------------------------


TOKEN_STATUS_CHOICES = [("active", "Usable"), ("expired", "Past expiry"), ("revoked", "Revoked")]


class TokenOutput(ModelSerializer):
    status = serializers.ChoiceField(choices=TOKEN_STATUS_CHOICES)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "status"]


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(
        allow_null=True,
        help_text="The secret. Shown once: store it now. null in a replay of the answer by "
        "Idempotency-Key: the secret is never stored.",
    )

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
    otp = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="The current code of your authenticator (or a backup code): required when "
        "two-factor sign-in is (REQUIRE_2FA).",
    )
