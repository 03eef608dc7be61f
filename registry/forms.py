"""Forms of the case report form pages.

These ModelForms only parse and check single fields; saving goes through
``registry.services`` (which re-validates, checks the centre, the lock, the
version and the reason, and writes the audit trail). Every yes/no question is an
explicit pair of radio buttons, so an unanswered question is never read as "no".
"""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry import choices as c
from registry.models import (
    MISSING_COMMENT_MAX_LENGTH,
    AdverseEvent,
    Baseline,
    Center,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)
from registry.services import REGISTRATION_EDITABLE, SIGNATURE_MEANING

# Labels with their unit where the model's verbose name reads awkwardly ("height cm");
# pages, forms and the history view all use these.
LABELS = {
    "height_cm": _("Height (cm)"),
    "weight_kg": _("Weight (kg)"),
    "pack_years": _("Pack-years"),
    "ecog": _("ECOG performance status"),
    "thoracic_rt_dose_gy": _("Thoracic RT dose (Gy)"),
    "thoracic_rt_start": _("Thoracic RT start"),
    "thoracic_rt_end": _("Thoracic RT end"),
    "mets_other_specify": _("Other metastatic site, specify"),
    "target_sum_mm": _("Sum of target-lesion diameters (mm)"),
    "term_other_specify": _("Other term, specify"),
    "immune_related": _("Immune-related"),
}


def lazy_field_label(model_field):
    """The label, translated when read: form classes are built once, at import."""
    return LABELS.get(model_field.name) or capfirst(model_field.verbose_name)


def field_label(model_field) -> str:
    """The label in the active language, as a plain string (for pages and messages)."""
    return str(lazy_field_label(model_field))


# Short choice lists read faster as radio buttons than as a drop-down.
RADIO_MAX_CHOICES = 3


class YesNoField(forms.TypedChoiceField):
    """A required explicit yes/no answer (radio buttons) that cleans to a bool."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.RadioSelect(attrs={"class": "yesno"}))
        super().__init__(
            choices=[("True", _("Yes")), ("False", _("No"))],
            coerce=lambda value: value == "True",
            empty_value=None,
            **kwargs,
        )


def crf_formfield(model_field: models.Field, **kwargs) -> forms.Field | None:
    """Form fields for CRF models: date pickers, yes/no radios, radios for short lists."""
    if isinstance(model_field, models.BooleanField):
        return YesNoField(
            label=lazy_field_label(model_field),
            help_text=model_field.help_text,
            required=True,
        )
    if isinstance(model_field, models.DateField):
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    required_unless_coded = getattr(model_field.model, "required_unless_coded", frozenset())
    if model_field.choices and (not model_field.blank or model_field.name in required_unless_coded):
        choices = model_field.get_choices(include_blank=False)
        if len(choices) <= RADIO_MAX_CHOICES:
            kwargs["choices"] = choices
            kwargs["widget"] = forms.RadioSelect(attrs={"class": "inline"})
    kwargs.setdefault("label", lazy_field_label(model_field))
    return model_field.formfield(**kwargs)


def crf_fields(model) -> tuple[str, ...]:
    """The fields a user types: editable ones except the key, the patient link and the
    missing-data codes (which the form asks for next to each codable field)."""
    return tuple(
        f.name
        for f in model._meta.fields
        if f.editable and f.name not in ("id", "patient", "missing_codes")
    )


MISSING_SUFFIX = "__missing"
COMMENT_SUFFIX = "__missing_comment"


class CrfForm(forms.ModelForm):
    """Base form of one CRF record: hidden version, and a reason once the part is complete."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "This part was marked complete: every change needs a reason, kept in the audit trail."
        ),
    )

    # (legend, field names) groups for the template; fields not listed go last.
    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # field -> (controlling field, values) : shown only when the controlling field has a value.
    show_when: dict[str, tuple[str, tuple[str, ...]]] = {}

    def __init__(self, *args, reason_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version if self.instance.pk else None
        if reason_required:
            self.fields["reason"].required = True
        else:
            del self.fields["reason"]
        self.reason_required = reason_required
        model_fields = {f.name: f for f in self._meta.model._meta.fields}
        self._add_missing_code_fields()
        for name, field in self.fields.items():
            model_field = model_fields.get(name)
            if model_field is None:
                continue
            for validator in model_field.validators:
                # Let the browser show the range too; the server still checks it.
                if isinstance(validator, MinValueValidator):
                    field.widget.attrs["min"] = validator.limit_value
                if isinstance(validator, MaxValueValidator):
                    field.widget.attrs["max"] = validator.limit_value

    @property
    def codable(self) -> list[str]:
        model = self._meta.model
        codable = getattr(model, "codable_fields", frozenset())
        return [name for name in self.fields if name in codable]

    def _add_missing_code_fields(self) -> None:
        """A code and a comment field next to each codable field, filled from the record."""
        model = self._meta.model
        stored = getattr(self.instance, "missing_codes", None) or {}
        required = getattr(model, "required_unless_coded", frozenset())
        for name in self.codable:
            field = self.fields[name]
            # Shown as required: empty is allowed only with a code, which the service checks.
            field.required_unless_coded = name in required
            entry = stored.get(name) or {}
            self.fields[name + MISSING_SUFFIX] = forms.ChoiceField(
                label=_("Missing-data code"),
                choices=[("", _("— (a value is given)"))] + list(c.MissingCode.choices),
                required=False,
                initial=entry.get("code", ""),
            )
            self.fields[name + COMMENT_SUFFIX] = forms.CharField(
                label=_("Why the value is missing"),
                required=False,
                max_length=MISSING_COMMENT_MAX_LENGTH,
                initial=entry.get("comment", ""),
                help_text=_("Required with a code. No names or other identifiers."),
            )

    def missing_fields(self, name: str):
        """(code, comment) bound fields of a codable field, or None."""
        if name + MISSING_SUFFIX not in self.fields:
            return None
        return self[name + MISSING_SUFFIX], self[name + COMMENT_SUFFIX]

    def clean(self):
        cleaned = super().clean()
        for name in self.codable:
            code = cleaned.get(name + MISSING_SUFFIX)
            comment = cleaned.get(name + COMMENT_SUFFIX, "")
            if comment and not code:
                self.add_error(
                    name + MISSING_SUFFIX, _("Choose the code that the comment explains.")
                )
        return cleaned

    def _post_clean(self):
        # The model checks a value against its code, so it must see the codes the form got.
        if self.codable:
            self.instance.missing_codes = self.service_data()["missing_codes"]
        super()._post_clean()

    def service_data(self) -> dict:
        """The cleaned values to hand to the service (no version, no reason), with the
        missing-data codes as the service takes them."""
        companions = {n + MISSING_SUFFIX for n in self.codable} | {
            n + COMMENT_SUFFIX for n in self.codable
        }
        data = {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("version", "reason") and name not in companions
        }
        if self.codable:
            data["missing_codes"] = {
                name: {
                    "code": self.cleaned_data[name + MISSING_SUFFIX],
                    "comment": self.cleaned_data.get(name + COMMENT_SUFFIX, ""),
                }
                for name in self.codable
                if self.cleaned_data.get(name + MISSING_SUFFIX)
            }
        return data

    def grouped(self):
        """(legend, [(bound field, show-when condition, missing-code fields)]) groups."""
        listed: set[str] = set()
        groups = []
        for legend, names in self.fieldsets:
            present = [name for name in names if name in self.fields]
            listed.update(names)
            if present:
                groups.append((legend, present))
        rest = [
            name
            for name in self.fields
            if name not in listed
            and name not in ("version", "reason")
            and not name.endswith((MISSING_SUFFIX, COMMENT_SUFFIX))
        ]
        if rest:
            groups.append(("", rest))
        return [
            (
                legend,
                [
                    (self[name], self.condition_for(name), self.missing_fields(name))
                    for name in names
                ],
            )
            for legend, names in groups
        ]

    def condition_for(self, name: str) -> str:
        """The data-show-when attribute of a field: 'controller:value|value'."""
        if name not in self.show_when:
            return ""
        controller, values = self.show_when[name]
        return f"{controller}:{'|'.join(values)}"


class RegistrationForm(CrfForm):
    """Registration & eligibility; identifiers only for users who may see them."""

    center = forms.ModelChoiceField(
        queryset=Center.objects.all(),
        required=False,
        label=_("Centre"),
        help_text=_("The patient's centre (site staff always register at their own)."),
    )

    fieldsets = (
        (_("Centre"), ("center",)),
        (_("Patient"), ("mrn", "initials", "date_of_birth", "sex", "registration_date")),
        (_("Inclusion criteria (all must be yes)"), Patient.inclusion_fields),
        (_("Exclusion criteria (all must be no)"), Patient.exclusion_fields),
        (_("Notes"), ("notes",)),
    )

    class Meta:
        model = Patient
        fields = REGISTRATION_EDITABLE
        formfield_callback = crf_formfield
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "initials": forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
        }

    def __init__(self, *args, sees_identifiers: bool, choose_center: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not sees_identifiers:
            for name in Patient.identifier_fields:
                self.fields.pop(name, None)
        if choose_center:
            self.fields["center"].required = True
        else:
            del self.fields["center"]

    def service_data(self) -> dict:
        data = super().service_data()
        data.pop("center", None)
        return data


class BaselineForm(CrfForm):
    fieldsets = (
        (_("Smoking"), ("smoking", "pack_years")),
        (_("Body and performance status"), ("height_cm", "weight_kg", "ecog")),
        (_("Diagnosis"), ("diagnosis_date", "diagnosis_confirmation", "extensive_stage_basis")),
        (
            _("Metastatic sites at baseline"),
            (
                "mets_brain",
                "mets_liver",
                "mets_bone",
                "mets_adrenal",
                "mets_other",
                "mets_other_specify",
            ),
        ),
    )
    show_when = {
        "pack_years": ("smoking", ("former", "current")),
        "mets_other_specify": ("mets_other", ("True",)),
    }

    class Meta:
        model = Baseline
        fields = crf_fields(Baseline)
        formfield_callback = crf_formfield

    def __init__(self, *args, sees_identifiers: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not sees_identifiers:
            self.fields.pop("mets_other_specify", None)


class FirstLineForm(CrfForm):
    fieldsets = (
        (_("Regimen"), ("platinum_agent", "etoposide", "start_date", "cycles")),
        (
            _("Consolidative thoracic radiotherapy"),
            ("thoracic_rt", "thoracic_rt_dose_gy", "thoracic_rt_start", "thoracic_rt_end"),
        ),
        (_("Outcome"), ("best_response", "progression_date")),
    )
    show_when = {
        "thoracic_rt_dose_gy": ("thoracic_rt", ("True",)),
        "thoracic_rt_start": ("thoracic_rt", ("True",)),
        "thoracic_rt_end": ("thoracic_rt", ("True",)),
    }

    class Meta:
        model = FirstLineTherapy
        fields = crf_fields(FirstLineTherapy)
        formfield_callback = crf_formfield


class AssessmentForm(CrfForm):
    class Meta:
        model = TumourAssessment
        fields = crf_fields(TumourAssessment)
        formfield_callback = crf_formfield

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean(self):
        cleaned = super().clean()
        # The unique constraint involves the patient, which the form does not carry.
        when, line = cleaned.get("assessment_date"), cleaned.get("line")
        if when and line:
            clash = TumourAssessment.objects.filter(
                patient=self.patient, assessment_date=when, line=line
            ).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(
                    "assessment_date",
                    gettext(
                        "A %(line)s assessment on %(date)s is already recorded; edit that one "
                        "instead."
                    )
                    % {"line": line, "date": date_format(when)},
                )
        return cleaned


class SecondLineForm(CrfForm):
    fieldsets = (
        (_("Start"), ("start_date", "cycles")),
        (
            _("Combination partners"),
            ("chemotherapy_agent", "antiangiogenic_agent", "radiotherapy_site"),
        ),
        (_("End of second line"), ("end_reason", "end_date", "progression_date")),
    )
    show_when = {
        "end_date": (
            "end_reason",
            tuple(v for v in c.SecondLineEndReason.values if v != c.SecondLineEndReason.ONGOING),
        ),
    }

    class Meta:
        model = SecondLineTherapy
        fields = crf_fields(SecondLineTherapy)
        formfield_callback = crf_formfield


class AdverseEventForm(CrfForm):
    fieldsets = (
        (_("Event"), ("term", "term_other_specify", "grade", "onset_date", "resolution_date")),
        (_("Assessment"), ("serious", "immune_related", "attribution", "action_taken", "outcome")),
    )
    show_when = {"term_other_specify": ("term", (c.AeTerm.OTHER.value,))}

    class Meta:
        model = AdverseEvent
        fields = crf_fields(AdverseEvent)
        formfield_callback = crf_formfield
        widgets = {
            "grade": forms.NumberInput(attrs={"min": 1, "max": 5, "step": 1}),
        }

    def __init__(self, *args, sees_identifiers: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        # The terms come in their declared order: alphabetical by the official CTCAE term,
        # "Other, specify" last, in every language (a Chinese label keeps the English term
        # beside it, and sorting Chinese labels by code point would be no order at all).
        self.fields["term"].widget.attrs["data-immune-terms"] = "|".join(
            sorted(str(t) for t in c.IMMUNE_RELATED_TERMS)
        )
        if not sees_identifiers:
            self.fields.pop("term_other_specify", None)


class FollowUpForm(CrfForm):
    show_when = {
        "death_date": ("vital_status", ("dead",)),
        "death_cause": ("vital_status", ("dead",)),
    }

    class Meta:
        model = FollowUp
        fields = crf_fields(FollowUp)
        formfield_callback = crf_formfield


FORM_BY_SECTION: dict[str, type[CrfForm]] = {
    c.Section.REGISTRATION: RegistrationForm,
    c.Section.BASELINE: BaselineForm,
    c.Section.FIRST_LINE: FirstLineForm,
    c.Section.ASSESSMENTS: AssessmentForm,
    c.Section.SECOND_LINE: SecondLineForm,
    c.Section.ADVERSE_EVENTS: AdverseEventForm,
    c.Section.FOLLOW_UP: FollowUpForm,
}


class DeleteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for deletion"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required; kept in the audit trail with the deleted values."),
    )


class SignForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Re-enter your password to sign."),
    )
    meaning = forms.CharField(widget=forms.HiddenInput, initial=SIGNATURE_MEANING, strip=False)
    confirm = forms.BooleanField(
        label=_("I have read the statement above and sign this casebook with its meaning."),
        required=True,
    )


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for unlocking"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Required. Unlocking voids the signature; the casebook must be completed and signed "
            "again."
        ),
    )


class PatientSearchForm(forms.Form):
    STATUS_CHOICES = [
        ("", _("Any status")),
        (c.EnrolmentStatus.ENROLLED, _("Enrolled")),
        (c.EnrolmentStatus.SCREEN_FAILURE, _("Screen failure")),
        (c.CasebookStatus.IN_PROGRESS, _("Casebook in progress")),
        (c.CasebookStatus.COMPLETE, _("Casebook complete")),
        (c.CasebookStatus.LOCKED, _("Casebook locked")),
    ]
    q = forms.CharField(required=False, label=_("Search"), max_length=40)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label=_("Status"))
    center = forms.ModelChoiceField(
        queryset=Center.objects.none(),
        required=False,
        empty_label=_("All centres"),
        label=_("Centre"),
    )
    sort = forms.CharField(required=False, max_length=20)

    def __init__(self, *args, centers=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Offered only to roles that see several centres (the view passes them); a site
        # user's list is their own centre's already.
        if centers is None:
            del self.fields["center"]
        else:
            self.fields["center"].queryset = centers


class HistoryFilterForm(forms.Form):
    """The history page's filter: one part (or events of the whole casebook) and a date range."""

    part = forms.ChoiceField(required=False, label=_("Part"))
    date_from = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["part"].choices = [("", _("All parts")), *c.Section.choices]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("“To” must not be before “From”."))
        return cleaned
