from django import forms
from django.utils.translation import gettext_lazy as _

from core import permissions
from exchange.models import ImportJob
from registry.models import Center


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("The registry's XLSX template, an export ZIP, or REDCap records (CSV)."),
    )
    file_format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("From the file name")), *ImportJob.Format.choices],
    )
    center = forms.ChoiceField(
        label=_("Centre"),
        required=False,
        help_text=_("Import this centre's rows only; empty: each row's centre column."),
    )
    skip_invalid_patients = forms.BooleanField(
        label=_("Import the patients without errors and report the others"),
        required=False,
        help_text=_("Unticked: nothing is imported while any row has an error."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if permissions.is_site_staff(user):
            del self.fields["center"]
        else:
            self.fields["center"].choices = [("", _("Each row's centre column"))] + [
                (center.code, str(center)) for center in Center.objects.all()
            ]


class TemplateForm(forms.Form):
    center = forms.ChoiceField(label=_("Pre-fill with the data of"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        centers = Center.objects.all()
        if permissions.is_site_staff(user):
            centers = centers.filter(pk=user.center_id)
        if not permissions.sees_identifiers_in_lists(user):
            centers = centers.none()  # a pre-filled template holds identifiers
        self.fields["center"].choices = [("", _("Nothing (an empty template)"))] + [
            (center.code, str(center)) for center in centers
        ]
