"""The "Freeze current locked data" form and the pair of cuts to compare."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from publication.models import DataCut


class CutFreezeForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=DataCut._meta.get_field("name").max_length,
        help_text=_("A name nobody has used yet, e.g. “Manuscript v1”."),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=DataCut._meta.get_field("note").max_length,
        help_text=_("What the cut is for (optional)."),
    )


class CutCompareForm(forms.Form):
    a = forms.ModelChoiceField(queryset=DataCut.objects.none(), label=_("From cut"))
    b = forms.ModelChoiceField(queryset=DataCut.objects.none(), label=_("To cut"))

    def __init__(self, *args, cuts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["a"].queryset = cuts
        self.fields["b"].queryset = cuts
