"""The analysis-plan form: JSON text validated by the engine itself."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import services
from core.errors import ApplicationError


class AnalysisPlanForm(forms.Form):
    plan = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 28, "cols": 100, "spellcheck": "false"}),
        label=gettext_lazy("Plan (JSON)"),
        help_text=gettext_lazy(
            "The plan JSON of analysis-contract.md section 3. "
            "Saving adds a new version and queues a run on it."
        ),
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        label=gettext_lazy("Note"),
        help_text=gettext_lazy("What changed, and why (kept with the version)."),
    )

    def clean_plan(self) -> dict:
        text = self.cleaned_data["plan"]
        try:
            plan = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("plan: invalid JSON: %(problem)s (line %(line)d, column %(column)d)")
                % {"problem": exc.msg, "line": exc.lineno, "column": exc.colno}
            ) from None
        try:
            services.plan_validate(plan)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None
        return plan
