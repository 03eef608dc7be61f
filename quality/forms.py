"""Forms of the query pages. They only parse; ``quality.services`` checks the rules.

Text a service requires (the question, an answer without a correction, a re-open reason)
is optional here on purpose: the service's message is the one the user sees, the same as
an API client gets.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core import permissions
from quality import selectors
from quality.models import NotificationPreference, QueryStatus
from quality.rules import RULES
from quality.services import TEXT_MAX_LENGTH, queryable_fields
from registry import choices as c
from registry.forms import crf_formfield
from registry.models import MODEL_BY_SECTION, Center, User
from registry.presenters import label

UNRESOLVED = "unresolved"


def _text_field(label_text, *, rows: int = 3, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label_text,
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class QueryFilterForm(forms.Form):
    """The list's filters (GET). An invalid filter is shown with its error and not applied."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Any status")),
            (UNRESOLVED, _("Unresolved (open or answered)")),
            *QueryStatus.choices,
        ],
    )
    center = forms.ModelChoiceField(
        label=_("Centre"),
        queryset=Center.objects.order_by("code"),
        required=False,
        empty_label=_("All centres"),
        to_field_name="code",
    )
    patient = forms.CharField(label=_("Patient (study id)"), required=False, max_length=16)
    older_than = forms.IntegerField(
        label=_("Older than (days)"),
        required=False,
        min_value=0,
        max_value=36500,
        help_text=_("Raised at least this many days ago."),
    )
    raised_by = forms.ModelChoiceField(
        label=_("Raised by"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Anyone"),
        to_field_name="username",
    )

    rule = forms.ChoiceField(
        label=_("Data-quality rule"),
        required=False,
        # The code (stable, as in the CSV) and the rule's message in the reader's language.
        choices=[
            ("", _("Any rule or none")),
            *[(r.code, format_lazy("{} · {}", r.code, r.message)) for r in RULES],
        ],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["raised_by"].queryset = selectors.query_raisers(user)
        if not permissions.sees_all_centers(user):
            # Site staff see their own centre only; a centre filter would be noise.
            del self.fields["center"]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments of ``selectors.query_list`` from the valid filters."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        status = data.get("status")
        statuses = selectors.UNRESOLVED if status == UNRESOLVED else ((status,) if status else ())
        return {
            "statuses": statuses,
            "center": data.get("center"),
            "study_id": (data.get("patient") or "").strip(),
            "older_than_days": data.get("older_than"),
            "raised_by": data.get("raised_by"),
            "rule_code": data.get("rule") or "",
        }


class QueryTargetForm(forms.Form):
    """What the raise link names (GET): patient, part, record and field."""

    patient = forms.CharField(max_length=16)
    section = forms.ChoiceField(required=False, choices=[("", ""), *c.Section.choices])
    record = forms.IntegerField(required=False, min_value=1)
    field = forms.CharField(required=False, max_length=60)


class RaiseQueryForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), required=False)
    text = _text_field(
        _("Question"),
        rows=4,
        help_text=_("What should the site check? The site sees this text."),
    )

    def __init__(self, *args, section: str, record, **kwargs):
        super().__init__(*args, **kwargs)
        if record is None:
            # The casebook, a whole repeating part or a part not entered yet: no field to name.
            del self.fields["field"]
            return
        model = MODEL_BY_SECTION[section]
        self.fields["field"].choices = [
            ("", _("The whole part or record")),
            *((name, label(model, name)) for name in queryable_fields(section)),
        ]

    def known_field(self, name: str) -> str:
        """``name`` if this form offers it (a link names a real field), else ""."""
        if "field" not in self.fields or not name:
            return ""
        return name if name in dict(self.fields["field"].choices) else ""


class AnswerForm(forms.Form):
    """The site's answer: a message, and for a query on one field, optionally a new value.

    The value input is the model field's own form field (choices, dates, numbers as on
    the CRF form); the record's version travels as a hidden field, so a correction made
    on a stale page is refused rather than overwriting someone else's change.
    """

    prefix = "answer"

    text = _text_field(_("Answer"))
    correct = forms.BooleanField(label=_("Correct the value"), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, query, record, **kwargs):
        super().__init__(*args, **kwargs)
        if not query.field or record is None:
            # A query on a part or the casebook is answered with words; the form corrects it.
            del self.fields["correct"], self.fields["version"]
            return
        model_field = type(record)._meta.get_field(query.field)
        value = crf_formfield(model_field)
        # Optional here: with "correct" unticked it is not read; when ticked the service
        # validates it like any edit (an empty value is refused where the field needs one).
        value.required = False
        value.label = _("New value")
        self.fields["value"] = value
        self.initial.setdefault("value", getattr(record, query.field))
        self.initial.setdefault("version", record.version)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        correct = bool(data.get("correct"))
        return {
            "text": data.get("text", ""),
            "correct": correct,
            "value": data.get("value") if correct else None,
            "expected_version": data.get("version") if correct else None,
        }


class CloseForm(forms.Form):
    prefix = "close"
    text = _text_field(_("Note (optional)"), rows=2)


class ReopenForm(forms.Form):
    prefix = "reopen"
    text = _text_field(
        _("Why re-open?"), rows=2, help_text=_("Required: the site sees this with the query.")
    )


class CentreFilterForm(forms.Form):
    """The verification page's filter: one centre (study-wide roles; site staff have theirs)."""

    center = forms.ModelChoiceField(
        label=_("Centre"),
        queryset=Center.objects.order_by("code"),
        required=False,
        empty_label=_("All centres"),
        to_field_name="code",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not permissions.sees_all_centers(user):
            # Site staff see their own centre only (the selectors' scope); no filter to offer.
            del self.fields["center"]

    def chosen_center(self) -> Center | None:
        """The chosen centre; an unknown one is ignored (and shown as an error on the form)."""
        if not self.is_bound or "center" not in self.fields or not self.is_valid():
            return None
        return self.cleaned_data.get("center")


class NotificationPreferenceForm(forms.Form):
    """How the user's notifications are emailed."""

    email = forms.ChoiceField(
        label=_("Email me"),
        choices=NotificationPreference.Email.choices,
        widget=forms.RadioSelect,
    )
