from django import forms

from core import permissions
from exchange.models import ExportJob
from registry.models import Center


class ExportForm(forms.Form):
    centers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every centre you may export.",
    )
    locked_only = forms.BooleanField(
        required=False, initial=True, label="Locked casebooks only (as the dashboard)"
    )
    formats = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[("xlsx", "Excel (XLSX)"), ("sav", "SPSS (.sav)"), ("redcap", "REDCap")],
        help_text="CSV files are always included.",
    )
    date_mode = forms.ChoiceField(
        choices=ExportJob.DateMode.choices, initial="relative", widget=forms.RadioSelect
    )
    recipient = forms.CharField(
        required=False,
        max_length=120,
        help_text="Name a recipient to give them the same pseudonyms in every export; "
        "leave empty for pseudonyms unique to this export.",
    )
    coarsen_centers = forms.BooleanField(required=False, label="Relabel centres as centre A–F")
    identified = forms.BooleanField(
        required=False, label="Identified export (identifiers, real dates and study ids)"
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when identified.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        centers = Center.objects.all()
        if not permissions.sees_all_centers(user):
            centers = centers.filter(pk=user.center_id)
        self.fields["centers"].choices = [(c.code, str(c)) for c in centers]
        if not permissions.can_export_identified(user):
            del self.fields["identified"]
            del self.fields["reason"]
