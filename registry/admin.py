"""Django admin for every model, under the same rules as the pages.

- Rows come through ``patients_visible_to``: site staff see their centre only, and another
  centre's record answers 404 (change, delete and history views alike).
- Permissions follow the role, not Django's per-model permissions: study PIs read, CRF
  editors write; a locked casebook is read-only for everyone, superusers included.
- Writes go through the services (``patient_register``, ``crf_record_save``,
  ``crf_record_delete``): the same validation, the version check against concurrent edits,
  the reason after a part was marked complete, and the audit trail. A service refusal shows
  on the form next to the field.
- Direct identifiers (``identifier_fields``) are shown only to users who may see them
  (``core.permissions.can_see_identifiers``), in forms, lists, search and the history's change list.
- Nor can they be probed: a user who may not see them in lists gets no filter, search or
  ordering on them, through a relation either (``?mrn__startswith=``, ``?patient__notes__
  icontains=`` answer 400): a result count would otherwise reveal them a character at a time.
- Records are removed only where the services allow it (tumour assessments, adverse
  events, follow-ups), one at a time, with a reason.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from simple_history.admin import SimpleHistoryAdmin

from core import permissions
from core.security.passwords_state import password_change_require
from core.security.two_factor import two_factor_reset
from registry import choices as c
from registry import services
from registry.models import (
    REPEATING_SECTIONS,
    AdverseEvent,
    AuditEvent,
    Baseline,
    Center,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    SectionCompletion,
    Signature,
    SignatureVoid,
    TumourAssessment,
    User,
)
from registry.selectors import patients_visible_to

REASON_FIELD = "change_reason"


def _patient_of(obj) -> Patient:
    return obj if isinstance(obj, Patient) else obj.patient


def lookup_reaches_identifier(model, lookup: str) -> bool:
    """Whether a lookup path (``patient__mrn__startswith``) reads an identifier field of any
    model along it, following relations both ways (``signatures__patient__date_of_birth``)."""
    current = model
    for part in lookup.split(LOOKUP_SEP):
        if part in getattr(current, "identifier_fields", ()):
            return True
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a lookup or transform (startswith, year): the path has ended
        if not field.is_relation or field.related_model is None:
            return False
        current = field.related_model
    return False


class IdentifierLookupGuard:
    """No filter, search or ordering on identifiers for users who do not see them in lists."""

    def _may_probe_identifiers(self, request) -> bool:
        return permissions.sees_identifiers_in_lists(request.user)

    def lookup_allowed(self, lookup, value, request=None):
        # Django passes the request since 5.0; without it, refuse identifier paths for all.
        if lookup_reaches_identifier(self.model, lookup) and (
            request is None or not self._may_probe_identifiers(request)
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if self._may_probe_identifiers(request):
            return filters
        return [f for f in filters if not self._filter_reaches_identifier(f)]

    def _filter_reaches_identifier(self, list_filter) -> bool:
        name = list_filter[0] if isinstance(list_filter, tuple | list) else list_filter
        return isinstance(name, str) and lookup_reaches_identifier(self.model, name)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if self._may_probe_identifiers(request):
            return fields
        return [f for f in fields if not lookup_reaches_identifier(self.model, f.lstrip("^=@"))]

    def get_sortable_by(self, request):
        sortable = super().get_sortable_by(request)
        if self._may_probe_identifiers(request):
            return sortable
        return [f for f in sortable if not lookup_reaches_identifier(self.model, f)]

    def get_ordering(self, request):
        ordering = super().get_ordering(request) or ()
        if self._may_probe_identifiers(request):
            return ordering
        return [o for o in ordering if not lookup_reaches_identifier(self.model, o.lstrip("-"))]


class ScopedAdmin(IdentifierLookupGuard, SimpleHistoryAdmin):
    """Role-based permissions and centre scope for models that belong to a patient."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        visible = patients_visible_to(request.user).values("pk")
        if self.model is Patient:
            return queryset.filter(pk__in=visible)
        return queryset.filter(patient__in=visible)

    def get_object(self, request, object_id, from_field=None):
        # Another centre's record is answered as absent: 404, not the admin's redirect.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such record."))
        return obj

    def _visible(self, request, obj) -> bool:
        return patients_visible_to(request.user).filter(pk=_patient_of(obj).pk).exists()

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and (obj is None or self._visible(request, obj))

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request) and permissions.can_edit_crf(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if not (self.has_module_permission(request) and permissions.can_edit_crf(request.user)):
            return False
        if obj is None:
            return True
        return self._visible(request, obj) and not _patient_of(obj).is_locked

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk deletion would skip the reason
        return actions

    # -- identifiers --------------------------------------------------------------------
    def _hidden_identifiers(self, request, obj) -> set[str]:
        if obj is None or permissions.can_see_identifiers(request.user, _patient_of(obj)):
            return set()
        return set(self.model.identifier_fields)

    def get_fields(self, request, obj=None):
        hidden = self._hidden_identifiers(request, obj)
        return [f for f in super().get_fields(request, obj) if f not in hidden]

    def get_readonly_fields(self, request, obj=None):
        hidden = self._hidden_identifiers(request, obj)
        return [f for f in super().get_readonly_fields(request, obj) if f not in hidden]

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        if permissions.sees_identifiers_in_lists(request.user):
            return fields
        return [f for f in fields if f not in self.model.identifier_fields]

    # -- history ------------------------------------------------------------------------
    def _visible_or_404(self, request, object_id):
        try:
            return self.get_queryset(request).get(pk=object_id)
        except (self.model.DoesNotExist, ValueError, ValidationError):
            raise Http404(_("No such record.")) from None

    def history_view(self, request, object_id, extra_context=None):
        # simple-history would fall back to the history rows (403); answer as absent.
        request.registry_history_obj = self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        if request.method == "POST":
            raise PermissionDenied(_("Reverting from the history bypasses the services."))
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """The history's list of changes, without identifiers the user may not see."""
        obj = getattr(request, "registry_history_obj", None)
        excluded = list(self._hidden_identifiers(request, obj)) if obj is not None else []
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current, excluded_fields=excluded, foreign_keys_are_objs=foreign_keys_are_objs
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    # -- writes go through the services ---------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        """Nothing to do: the form's validation already saved through the service."""

    def save_related(self, request, form, formsets, change) -> None:
        """No many-to-many fields or inlines; the service saved everything."""


class ServiceForm(forms.ModelForm):
    """A model form whose validation ends with the service call that saves it.

    The service is the last validation step (cross-part rules, version, reason, lock), so a
    refusal is a form error next to its field and the form re-renders with nothing saved.
    """

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        label=gettext_lazy("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required once this part has been marked complete."),
    )
    request_user: User | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "expected_version" in self.fields:
            # The version the user read; the service refuses the save if it has moved on.
            self.fields["expected_version"].initial = self.instance.version

    def _model_data(self) -> dict:
        skip = {"patient", "center", "expected_version", REASON_FIELD}
        model_fields = {f.name for f in self._meta.model._meta.fields}
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in model_fields and name not in skip
        }

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        try:
            self.instance = self.save_through_service()
        except services.ApplicationError as error:
            self._add_service_error(error)

    def _add_service_error(self, error: services.ApplicationError) -> None:
        if not error.fields:
            self.add_error(None, error.message)
            return
        for name, problems in error.fields.items():
            target = REASON_FIELD if name == "reason" else name
            self.add_error(target if target in self.fields else None, problems)

    def save_through_service(self):
        raise NotImplementedError


class CrfForm(ServiceForm):
    def save_through_service(self):
        model = self._meta.model
        existing = self.instance.pk is not None
        patient = self.instance.patient if existing else self.cleaned_data["patient"]
        return services.crf_record_save(
            user=self.request_user,
            patient=patient,
            section=model.section,
            data=self._model_data(),
            record_id=self.instance.pk
            if existing and model.section in REPEATING_SECTIONS
            else None,
            expected_version=self.cleaned_data.get("expected_version") if existing else None,
            reason=self.cleaned_data.get(REASON_FIELD, ""),
        )


class PatientForm(ServiceForm):
    def save_through_service(self):
        if self.instance.pk is None:
            return services.patient_register(
                user=self.request_user, center=self.cleaned_data["center"], data=self._model_data()
            )
        return services.crf_record_save(
            user=self.request_user,
            patient=self.instance,
            section=c.Section.REGISTRATION,
            data=self._model_data(),
            expected_version=self.cleaned_data.get("expected_version"),
            reason=self.cleaned_data.get(REASON_FIELD, ""),
        )


@admin.register(Patient)
class PatientAdmin(ScopedAdmin):
    form = PatientForm
    list_display = (
        "study_id",
        "center",
        "mrn",
        "initials",
        "enrolment_status",
        "casebook_status",
        "updated_at",
    )
    list_filter = ("casebook_status", "enrolment_status")
    search_fields = ("study_id", "mrn", "initials")
    readonly_fields = (
        "study_id",
        "sequence",
        "enrolment_status",
        "screen_failure_reason",
        "casebook_status",
        "version",
        "created_at",
        "updated_at",
    )

    def get_fields(self, request, obj=None):
        editable = ["center", *services.REGISTRATION_EDITABLE, "expected_version", REASON_FIELD]
        if obj is None:
            editable.remove(REASON_FIELD)
        fields = [*editable, *self.readonly_fields] if obj else editable
        hidden = self._hidden_identifiers(request, obj)
        return [f for f in fields if f not in hidden]

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("center")  # a patient does not move between centres
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "center" and permissions.is_site_staff(request.user):
            kwargs["queryset"] = Center.objects.filter(pk=request.user.center_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.enrolment_status == c.EnrolmentStatus.SCREEN_FAILURE:
            return False  # a screen failure's registration is final
        return super().has_change_permission(request, obj)


class CrfAdmin(ScopedAdmin):
    form = CrfForm
    list_display = ("__str__", "patient", "version", "updated_at")
    list_select_related = ("patient",)
    search_fields = ("patient__study_id",)
    readonly_fields = ("version", "updated_at")

    def get_fields(self, request, obj=None):
        names = [
            f.name
            for f in self.model._meta.fields
            if f.editable and not f.primary_key and f.name != "patient"
        ]
        fields = ["patient", *names, "expected_version"]
        if obj is not None or self.model.section in REPEATING_SECTIONS:
            fields.append(REASON_FIELD)
        if obj is not None:
            fields += list(self.readonly_fields)
        hidden = self._hidden_identifiers(request, obj)
        return [f for f in fields if f not in hidden]

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("patient")
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "patient":
            kwargs["queryset"] = (
                patients_visible_to(request.user)
                .filter(enrolment_status=c.EnrolmentStatus.ENROLLED)
                .exclude(casebook_status=c.CasebookStatus.LOCKED)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RepeatingCrfAdmin(CrfAdmin):
    """Assessments, adverse events and follow-ups: one record may be deleted, with a reason."""

    delete_confirmation_template = "admin/registry/delete_with_reason.html"

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            reason = request.POST.get("reason", "").strip()
            if not reason:
                messages.error(request, _("reason: give a reason for the deletion."))
                return HttpResponseRedirect(request.path)
            request._deletion_reason = reason
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj) -> None:
        services.crf_record_delete(
            user=request.user,
            patient=obj.patient,
            section=obj.section,
            record_id=obj.pk,
            expected_version=obj.version,
            reason=request._deletion_reason,
        )

    def _delete_view(self, request, object_id, extra_context):
        try:
            return super()._delete_view(request, object_id, extra_context)
        except services.ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.path)


admin.site.register(Baseline, CrfAdmin)
admin.site.register(FirstLineTherapy, CrfAdmin)
admin.site.register(SecondLineTherapy, CrfAdmin)
admin.site.register(TumourAssessment, RepeatingCrfAdmin)
admin.site.register(AdverseEvent, RepeatingCrfAdmin)
admin.site.register(FollowUp, RepeatingCrfAdmin)


class ReadOnlyScopedAdmin(IdentifierLookupGuard, admin.ModelAdmin):
    """Workflow records (completions, signatures, audit events): written only by services."""

    patient_path = "patient"  # how a row reaches its patient, for centre scoping

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        visible = patients_visible_to(request.user).values("pk")
        if permissions.sees_all_centers(request.user):
            return queryset
        return queryset.filter(**{f"{self.patient_path}__in": visible})

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such record."))
        return obj

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SectionCompletion)
class SectionCompletionAdmin(ReadOnlyScopedAdmin):
    list_display = ("patient", "section", "completed_at", "completed_by")
    list_select_related = ("patient", "completed_by")


@admin.register(Signature)
class SignatureAdmin(ReadOnlyScopedAdmin):
    list_display = ("patient", "signed_by", "signed_at", "voided_at", "voided_by")
    list_select_related = ("patient", "signed_by", "void__voided_by")


@admin.register(SignatureVoid)
class SignatureVoidAdmin(ReadOnlyScopedAdmin):
    list_display = ("signature", "voided_by", "voided_at", "reason")
    list_select_related = ("signature__patient", "signature__signed_by", "voided_by")
    patient_path = "signature__patient"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyScopedAdmin):
    list_display = ("at", "user", "action", "patient", "reason")
    list_filter = ("action",)
    list_select_related = ("patient", "user")
    search_fields = ("patient__study_id",)


class AdministratorOnly:
    """Centres and accounts are managed by administrators."""

    def _is_administrator(self, request) -> bool:
        return permissions.can_manage_accounts(request.user)

    def has_module_permission(self, request) -> bool:
        return self._is_administrator(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_administrator(request)

    def has_add_permission(self, request) -> bool:
        return self._is_administrator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_administrator(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # centres and users are referenced by audit records: deactivate instead


@admin.register(Center)
class CenterAdmin(AdministratorOnly, admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(User)
class RegistryUserAdmin(AdministratorOnly, UserAdmin):
    list_display = ("username", "get_full_name", "role", "center", "is_active", "is_staff")
    list_filter = ("role", "center", "is_active")
    fieldsets = (
        *UserAdmin.fieldsets,
        (gettext_lazy("Registry role"), {"fields": ("role", "center")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (gettext_lazy("Registry role"), {"fields": ("role", "center")}),
    )

    actions = ["reset_two_factor"]

    @admin.action(
        description=gettext_lazy("Reset two-factor sign-in (enrol again at the next sign-in)")
    )
    def reset_two_factor(self, request, queryset) -> None:
        for user in queryset:
            removed = two_factor_reset(administrator=request.user, user=user, request=request)
            self.message_user(
                request,
                ngettext(
                    "%(user)s: two-factor sign-in reset (%(count)d device removed).",
                    "%(user)s: two-factor sign-in reset (%(count)d devices removed).",
                    removed,
                )
                % {"user": user.get_username(), "count": removed},
                messages.SUCCESS,
            )

    # A password an administrator typed is known to two people: the user replaces it at the
    # next sign-in (core.security.middleware.PasswordChangeRequiredMiddleware).
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            password_change_require(user=obj)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            password_change_require(user=self.get_object(request, id))
        return response
