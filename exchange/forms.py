from django import forms
from django.utils.translation import gettext_lazy as _

from core import permissions
from exchange.models import ExportJob
from registry.models import Center


class ExportForm(forms.Form):
    # Labels spelt as the rest of the registry ("Centres"), not Django's default from the name.
    centers = forms.MultipleChoiceField(
        required=False,
        label=_("Centres"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every centre you may export."),
    )
    locked_only = forms.BooleanField(
        required=False, initial=True, label=_("Locked casebooks only (as the dashboard)")
    )
    formats = forms.MultipleChoiceField(
        required=False,
        label=_("Formats"),
        widget=forms.CheckboxSelectMultiple,
        choices=[("xlsx", "Excel (XLSX)"), ("sav", "SPSS (.sav)"), ("redcap", "REDCap")],
        help_text=_("CSV files are always included."),
    )
    date_mode = forms.ChoiceField(
        label=_("Dates"),
        choices=ExportJob.DateMode.choices,
        initial="relative",
        widget=forms.RadioSelect,
    )
    recipient = forms.CharField(
        required=False,
        label=_("Recipient"),
        max_length=120,
        help_text=_(
            "Name a recipient to give them the same pseudonyms in every export; "
            "leave empty for pseudonyms unique to this export."
        ),
    )
    coarsen_centers = forms.BooleanField(required=False, label=_("Relabel centres as centre A–F"))
    identified = forms.BooleanField(
        required=False, label=_("Identified export (identifiers, real dates and study ids)")
    )
    reason = forms.CharField(
        required=False,
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when identified."),
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
