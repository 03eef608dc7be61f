"""The study: centres, people, and the standardized case report form (CRF).

Every CRF record belongs to one patient's casebook. Ranges that must never be
false are database constraints; cross-field rules that need a human-readable
message live in each model's ``clean`` (single record) and in
``registry.rules`` (rules that span parts of the casebook). Derived values
(BMI, DpR, OS…) are computed in ``registry.derived`` and never stored.

Labels, help texts and messages are translatable (English and Simplified Chinese); what is
stored stays English whatever the user's language: codes, the screen failure reason, and
``__str__``, which the audit trail keeps in its detail and the logs print.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import permissions
from core.errors import ApplicationError, ErrorCode
from core.roles import SITE_ROLES, Role
from registry import choices as c
from registry.validators import normalise_initials, plausibility_errors, text_error


class LockedCasebookError(ApplicationError):
    """Raised on any attempt to write a record of a locked casebook (behind the services)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.LOCKED)


class Center(models.Model):
    code = models.CharField(
        _("code"),
        max_length=8,
        unique=True,
        help_text=_("Short code used as the prefix of study ids, e.g. 'BJ'. Capital letters only."),
        validators=[RegexValidator(r"^[A-Z]{2,8}$", _("Use 2–8 capital letters."))],
    )
    name = models.CharField(_("name"), max_length=200, help_text=_("Hospital name."))

    class Meta:
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{2,8}$"), name="center_code_format"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class User(AbstractUser):
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=Role.choices,
        default=Role.COORDINATOR,
        help_text=_("One role."),
    )
    center = models.ForeignKey(
        Center,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("centre"),
        help_text=_(
            "Required for site coordinators and investigators; empty for study-wide roles."
        ),
    )
    # The language of the user's pages and e-mails (core/language.py); empty: the browser's.
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        help_text=_("The language of this user's pages and e-mails; empty follows the browser."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=sorted(SITE_ROLES), center__isnull=False)
                    | (~Q(role__in=sorted(SITE_ROLES)) & Q(center__isnull=True))
                ),
                name="user_site_roles_have_one_center",
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        if self.role in SITE_ROLES and self.center_id is None:
            raise ValidationError(
                {"center": gettext("A site coordinator or investigator needs a centre.")}
            )
        if self.role not in SITE_ROLES and self.center_id is not None:
            raise ValidationError(
                {"center": gettext("Study-wide roles are not bound to a centre.")}
            )

    # Role rules live in core.permissions; these properties let templates ask them.
    @property
    def is_site_staff(self) -> bool:
        return permissions.is_site_staff(self)

    @property
    def sees_all_centers(self) -> bool:
        return permissions.sees_all_centers(self)

    @property
    def can_edit_crf(self) -> bool:
        return permissions.can_edit_crf(self)

    @property
    def can_lock(self) -> bool:
        return permissions.can_lock(self)

    @property
    def can_unlock(self) -> bool:
        return permissions.can_unlock(self)

    @property
    def can_see_dashboard(self) -> bool:
        return permissions.can_see_dashboard(self)


def _clean_fields_plausibly(instance, exclude, clean_fields) -> None:
    """Django's field checks, then the plausibility rules (registry.validators), together."""
    errors: dict[str, list] = {}
    try:
        clean_fields(exclude=exclude)
    except ValidationError as error:
        errors = error.message_dict
    for name, messages in plausibility_errors(instance, exclude).items():
        errors.setdefault(name, messages)
    if errors:
        raise ValidationError(errors)


class Patient(models.Model):
    """Registration & eligibility: the root of one casebook."""

    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="patients", verbose_name=_("centre")
    )
    sequence = models.PositiveIntegerField(
        _("sequence"), editable=False, help_text=_("Per-centre serial number.")
    )
    study_id = models.CharField(
        _("study id"),
        max_length=16,
        unique=True,
        editable=False,
        help_text=_(
            "<centre code>-<4-digit sequence>; generated, never derived from an identifier."
        ),
    )
    mrn = models.CharField(
        _("hospital MRN"),
        max_length=40,
        help_text=_("Medical record number at the centre. Identifier."),
    )
    initials = models.CharField(
        _("initials"), max_length=4, help_text=_("Two to four letters. Identifier.")
    )
    date_of_birth = models.DateField(
        _("date of birth"), help_text=_("Identifier; age is derived from it.")
    )
    sex = models.CharField(_("sex"), max_length=1, choices=c.Sex.choices)
    registration_date = models.DateField(
        _("registration date"), help_text=_("Date of consent / registration.")
    )
    inc_confirmed_sclc = models.BooleanField(
        _("Inclusion 1: histologically or cytologically confirmed SCLC"),
        help_text=_("Must be yes."),
    )
    inc_extensive_stage = models.BooleanField(
        _("Inclusion 2: extensive stage"),
        help_text=_(
            "Distant metastasis, or thoracic extension beyond one radiation port. Must be yes."
        ),
    )
    inc_progressed_on_atezolizumab = models.BooleanField(
        _("Inclusion 3: progressed after 1L platinum + atezolizumab, atezolizumab continued in 2L"),
        help_text=_("Must be yes."),
    )
    exc_severe_systemic_disease = models.BooleanField(
        _("Exclusion 1: history of severe systemic disease"), help_text=_("Must be no.")
    )
    exc_autoimmune_disease = models.BooleanField(
        _("Exclusion 2: autoimmune disease"), help_text=_("Must be no.")
    )
    exc_incomplete_information = models.BooleanField(
        _("Exclusion 3: incomplete information"), help_text=_("Must be no.")
    )
    enrolment_status = models.CharField(
        _("enrolment status"), max_length=20, choices=c.EnrolmentStatus.choices, editable=False
    )
    # Stored in English whatever the user's language (the dashboard counts screen failures
    # by it); ``screen_failure_reason_display`` shows it in the reader's language.
    screen_failure_reason = models.CharField(
        _("screen failure reason"),
        max_length=200,
        blank=True,
        editable=False,
        help_text=_("The failed criterion."),
    )
    notes = models.TextField(
        _("notes"), blank=True, help_text=_("Free-text notes. Identifier: never exported.")
    )
    no_adverse_events = models.BooleanField(
        _("no adverse events occurred"),
        default=False,
        editable=False,
        help_text=_("Confirmed by the site: the adverse-event part is complete with no records."),
    )
    casebook_status = models.CharField(
        _("casebook status"),
        max_length=20,
        choices=c.CasebookStatus.choices,
        default=c.CasebookStatus.IN_PROGRESS,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    identifier_fields: ClassVar[frozenset[str]] = frozenset(
        {"mrn", "initials", "date_of_birth", "notes"}
    )
    inclusion_fields: ClassVar[tuple[str, ...]] = (
        "inc_confirmed_sclc",
        "inc_extensive_stage",
        "inc_progressed_on_atezolizumab",
    )
    exclusion_fields: ClassVar[tuple[str, ...]] = (
        "exc_severe_systemic_disease",
        "exc_autoimmune_disease",
        "exc_incomplete_information",
    )

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["center__code", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["center", "sequence"], name="patient_sequence_per_center"
            ),
            models.UniqueConstraint(fields=["center", "mrn"], name="patient_mrn_once_per_center"),
            models.CheckConstraint(
                condition=Q(enrolment_status=c.EnrolmentStatus.ENROLLED, screen_failure_reason="")
                | Q(enrolment_status=c.EnrolmentStatus.SCREEN_FAILURE)
                & ~Q(screen_failure_reason=""),
                name="patient_screen_failure_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(enrolment_status=c.EnrolmentStatus.ENROLLED)
                | Q(casebook_status=c.CasebookStatus.IN_PROGRESS),
                name="patient_only_enrolled_casebooks_progress",
            ),
        ]
        indexes = [models.Index(fields=["casebook_status"])]

    def __str__(self) -> str:
        return self.study_id

    def save(self, *args, **kwargs) -> None:
        if self.pk and self.casebook_status == c.CasebookStatus.LOCKED:
            stored = Patient.objects.filter(pk=self.pk).values_list("casebook_status", flat=True)
            if stored and stored[0] == c.CasebookStatus.LOCKED:
                raise LockedCasebookError(
                    gettext("Casebook %(study_id)s is locked.") % {"study_id": self.study_id}
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.casebook_status == c.CasebookStatus.LOCKED:
            raise LockedCasebookError(
                gettext("Casebook %(study_id)s is locked.") % {"study_id": self.study_id}
            )
        return super().delete(*args, **kwargs)

    def clean_fields(self, exclude=None) -> None:
        self.initials = normalise_initials(self.initials)
        _clean_fields_plausibly(self, exclude, super().clean_fields)

    def _first_failed(self) -> tuple[str, bool] | None:
        """(criterion field, answered yes) of the first criterion failed, or None."""
        for name in self.inclusion_fields:
            if getattr(self, name) is not True:
                return name, False
        for name in self.exclusion_fields:
            if getattr(self, name) is not False:
                return name, True
        return None

    def _criterion_text(self, name: str, answered_yes: bool) -> str:
        criterion = self._meta.get_field(name).verbose_name
        if answered_yes:
            return gettext("%(criterion)s (answered yes)") % {"criterion": criterion}
        return gettext("%(criterion)s (answered no)") % {"criterion": criterion}

    def failed_criterion(self) -> str:
        """The first eligibility criterion this registration fails, or '' if eligible.

        Always in English: it is stored as the screen failure reason, which the dashboard
        counts by, so it must not depend on the language of whoever registered the patient.
        ``failed_criterion_display`` and ``screen_failure_reason_display`` are for readers.
        """
        failed = self._first_failed()
        if failed is None:
            return ""
        with translation.override("en-gb"):
            return self._criterion_text(*failed)

    def failed_criterion_display(self) -> str:
        """``failed_criterion`` in the active language."""
        failed = self._first_failed()
        return "" if failed is None else self._criterion_text(*failed)

    @property
    def screen_failure_reason_display(self) -> str:
        """The stored (English) screen failure reason in the active language; a reason that
        names no criterion of this form (typed elsewhere, an older wording) as stored."""
        for name in (*self.inclusion_fields, *self.exclusion_fields):
            for answered_yes in (False, True):
                with translation.override("en-gb"):
                    stored_form = self._criterion_text(name, answered_yes)
                if stored_form == self.screen_failure_reason:
                    return self._criterion_text(name, answered_yes)
        return self.screen_failure_reason

    @property
    def is_eligible(self) -> bool:
        return self.failed_criterion() == ""

    @property
    def is_locked(self) -> bool:
        return self.casebook_status == c.CasebookStatus.LOCKED


MISSING_COMMENT_MAX_LENGTH = 500


class CasebookRecord(models.Model):
    """A CRF record inside one casebook: refuses writes while the casebook is locked.

    A field of ``codable_fields`` may be left empty with a missing-data code (not done,
    unknown, not applicable) and a comment instead of its value: ``missing_codes`` maps the
    field name to ``{"code": …, "comment": …}``. Kept in the record's own row, so the
    history, the version, the lock and the database guard cover it like any value.
    """

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    missing_codes = models.JSONField(
        _("missing-data codes"),
        default=dict,
        blank=True,
        help_text=_("Field name → {code: not_done | unknown | not_applicable, comment}."),
    )

    identifier_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields that may carry a missing-data code instead of a value ...
    codable_fields: ClassVar[frozenset[str]] = frozenset()
    # ... and, of those, the ones that need a value or a code on every record (the others
    # are required only in some situations, which the model's clean() decides).
    required_unless_coded: ClassVar[frozenset[str]] = frozenset()
    section: ClassVar[str]

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self._refuse_if_locked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_locked()
        return super().delete(*args, **kwargs)

    def _refuse_if_locked(self) -> None:
        locked = Patient.objects.filter(
            pk=self.patient_id, casebook_status=c.CasebookStatus.LOCKED
        ).exists()
        if locked:
            raise LockedCasebookError(
                gettext("Casebook %(study_id)s is locked.") % {"study_id": self.patient}
            )

    def is_coded(self, name: str) -> bool:
        return name in (self.missing_codes or {})

    def missing_code(self, name: str) -> dict | None:
        return (self.missing_codes or {}).get(name)

    def clean_fields(self, exclude=None) -> None:
        """Django's field checks and the plausibility rules, then the missing-data codes."""
        errors: dict[str, list] = {}
        try:
            _clean_fields_plausibly(self, exclude, super().clean_fields)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for name, message in self._missing_code_errors().items():
            errors.setdefault(name, []).append(message)
        if errors:
            raise ValidationError(errors)

    def _missing_code_errors(self) -> dict[str, str]:
        codes = self.missing_codes
        if codes in (None, ""):
            self.missing_codes = codes = {}
        if not isinstance(codes, dict):
            return {"missing_codes": gettext("Must be an object: field name → {code, comment}.")}
        errors: dict[str, str] = {}
        for name, entry in codes.items():
            if name not in self.codable_fields:
                errors["missing_codes"] = gettext(
                    "%(field)s cannot carry a missing-data code; codable fields: %(fields)s."
                ) % {
                    "field": name,
                    "fields": ", ".join(sorted(self.codable_fields)) or gettext("none"),
                }
                continue
            if not isinstance(entry, dict) or set(entry) - {"code", "comment"}:
                errors[name] = gettext("A missing-data code is {code, comment}.")
                continue
            if entry.get("code") not in c.MissingCode.values:
                errors[name] = gettext("Missing-data code must be one of %(codes)s.") % {
                    "codes": ", ".join(c.MissingCode.values)
                }
                continue
            comment = entry.get("comment")
            if not isinstance(comment, str) or not comment.strip():
                errors[name] = gettext("Give a comment with the missing-data code.")
                continue
            if text_error(comment):
                errors[name] = text_error(comment)
                continue
            if len(comment) > MISSING_COMMENT_MAX_LENGTH:
                errors[name] = gettext("The comment is at most %(n)d characters.") % {
                    "n": MISSING_COMMENT_MAX_LENGTH
                }
                continue
            if getattr(self, name) not in (None, ""):
                errors[name] = gettext("Give either a value or a missing-data code, not both.")
        for name in self.required_unless_coded:
            if getattr(self, name) in (None, "") and name not in codes and name not in errors:
                errors[name] = gettext(
                    "This field is required: give a value, or mark it not done, unknown or "
                    "not applicable with a comment."
                )
        return errors


def _range(low: float, high: float) -> list:
    return [MinValueValidator(low), MaxValueValidator(high)]


class Baseline(CasebookRecord):
    section = c.Section.BASELINE

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="baseline", verbose_name=_("patient")
    )
    smoking = models.CharField(_("smoking"), max_length=10, choices=c.Smoking.choices, blank=True)
    pack_years = models.DecimalField(
        _("pack-years"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(0, 200),
        help_text=_("Pack-years (0–200); required for former and current smokers."),
    )
    height_cm = models.DecimalField(
        _("height"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(100, 250),
        help_text=_("cm, 100–250."),
    )
    weight_kg = models.DecimalField(
        _("weight"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(25, 300),
        help_text=_("kg, 25–300."),
    )
    ecog = models.PositiveSmallIntegerField(
        _("ECOG performance status"),
        null=True,
        blank=True,
        validators=_range(0, 4),
        help_text=_("0–4, at the start of 2L."),
    )
    diagnosis_date = models.DateField(
        _("diagnosis date"), help_text=_("Date of pathological diagnosis of SCLC.")
    )
    diagnosis_confirmation = models.CharField(
        _("diagnosis confirmation"),
        max_length=20,
        choices=c.DiagnosisConfirmation.choices,
        blank=True,
    )
    extensive_stage_basis = models.CharField(
        _("basis of extensive stage"),
        max_length=30,
        choices=c.ExtensiveStageBasis.choices,
        blank=True,
    )
    mets_brain = models.BooleanField(_("brain metastasis"), help_text=_("At baseline."))
    mets_liver = models.BooleanField(_("liver metastasis"), help_text=_("At baseline."))
    mets_bone = models.BooleanField(_("bone metastasis"), help_text=_("At baseline."))
    mets_adrenal = models.BooleanField(_("adrenal metastasis"), help_text=_("At baseline."))
    mets_other = models.BooleanField(_("other metastatic site"), help_text=_("At baseline."))
    mets_other_specify = models.CharField(
        _("other metastatic site, specify"),
        max_length=200,
        blank=True,
        help_text=_("Other site, specify (free text; not exported)."),
    )

    history = HistoricalRecords()

    identifier_fields: ClassVar[frozenset[str]] = frozenset({"mets_other_specify"})
    required_unless_coded: ClassVar[frozenset[str]] = frozenset(
        {"smoking", "height_cm", "weight_kg", "ecog", "diagnosis_confirmation"}
        | {"extensive_stage_basis"}
    )
    codable_fields: ClassVar[frozenset[str]] = required_unless_coded | {"pack_years"}

    class Meta:
        verbose_name = _("baseline")
        verbose_name_plural = _("baselines")
        constraints = [
            models.CheckConstraint(condition=Q(ecog__gte=0, ecog__lte=4), name="baseline_ecog_0_4"),
            models.CheckConstraint(
                condition=Q(height_cm__gte=100, height_cm__lte=250), name="baseline_height_range"
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__gte=25, weight_kg__lte=300), name="baseline_weight_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Baseline of {self.patient}"

    def clean(self) -> None:
        errors = {}
        smoker = self.smoking in (c.Smoking.FORMER, c.Smoking.CURRENT)
        if smoker and self.pack_years is None and not self.is_coded("pack_years"):
            errors["pack_years"] = gettext(
                "Pack-years are required for former and current smokers."
            )
        if self.smoking == c.Smoking.NEVER and self.pack_years not in (None, 0):
            errors["pack_years"] = gettext("A never-smoker has no pack-years; leave it empty.")
        if self.mets_other and not self.mets_other_specify.strip():
            errors["mets_other_specify"] = gettext("Specify the other metastatic site.")
        if errors:
            raise ValidationError(errors)


class FirstLineTherapy(CasebookRecord):
    section = c.Section.FIRST_LINE

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="first_line", verbose_name=_("patient")
    )
    platinum_agent = models.CharField(
        _("platinum agent"), max_length=20, choices=c.PlatinumAgent.choices, blank=True
    )
    etoposide = models.BooleanField(
        _("etoposide"), help_text=_("Etoposide given with the platinum agent.")
    )
    start_date = models.DateField(
        _("atezolizumab start date"), help_text=_("Start of 1L platinum–etoposide + atezolizumab.")
    )
    cycles = models.PositiveSmallIntegerField(
        _("cycles"),
        null=True,
        blank=True,
        validators=_range(1, 12),
        help_text=_("Induction cycles given, 1–12."),
    )
    thoracic_rt = models.BooleanField(
        _("consolidative thoracic radiotherapy"), help_text=_("Given during first line.")
    )
    thoracic_rt_dose_gy = models.DecimalField(
        _("thoracic RT dose"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(1, 70),
        help_text=_("Gy, 1–70; required when thoracic radiotherapy was given."),
    )
    thoracic_rt_start = models.DateField(_("thoracic RT start"), null=True, blank=True)
    thoracic_rt_end = models.DateField(_("thoracic RT end"), null=True, blank=True)
    best_response = models.CharField(
        _("best response"),
        max_length=2,
        choices=c.RecistResponse.choices,
        blank=True,
        help_text=_("RECIST 1.1 best overall response."),
    )
    progression_date = models.DateField(
        _("1L progression date"), help_text=_("Date of progression on first line.")
    )

    history = HistoricalRecords()

    required_unless_coded: ClassVar[frozenset[str]] = frozenset(
        {"platinum_agent", "cycles", "best_response"}
    )
    codable_fields: ClassVar[frozenset[str]] = required_unless_coded | {"thoracic_rt_dose_gy"}

    class Meta:
        verbose_name = _("first-line therapy")
        verbose_name_plural = _("first-line therapies")
        constraints = [
            models.CheckConstraint(
                condition=Q(progression_date__gte=models.F("start_date")),
                name="first_line_progression_after_start",
            ),
            models.CheckConstraint(
                condition=Q(thoracic_rt_end__isnull=True)
                | Q(thoracic_rt_end__gte=models.F("thoracic_rt_start")),
                name="first_line_rt_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"First line of {self.patient}"

    def clean(self) -> None:
        errors = {}
        if self.thoracic_rt:
            for name in ("thoracic_rt_dose_gy", "thoracic_rt_start", "thoracic_rt_end"):
                if getattr(self, name) is None and not self.is_coded(name):
                    errors[name] = gettext(
                        "Required when consolidative thoracic radiotherapy was given."
                    )
        else:
            for name in ("thoracic_rt_dose_gy", "thoracic_rt_start", "thoracic_rt_end"):
                if getattr(self, name) is not None:
                    errors[name] = gettext("Leave empty: no thoracic radiotherapy was given.")
        if (
            self.thoracic_rt_start
            and self.thoracic_rt_end
            and self.thoracic_rt_end < self.thoracic_rt_start
        ):
            errors["thoracic_rt_end"] = gettext(
                "Radiotherapy end date must not be before its start date."
            )
        if self.start_date and self.progression_date and self.progression_date < self.start_date:
            errors["progression_date"] = gettext(
                "1L progression date must not be before the atezolizumab start date."
            )
        if errors:
            raise ValidationError(errors)


class TumourAssessment(CasebookRecord):
    section = c.Section.ASSESSMENTS

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="assessments", verbose_name=_("patient")
    )
    assessment_date = models.DateField(_("assessment date"))
    line = models.CharField(_("line"), max_length=2, choices=c.TreatmentLine.choices)
    target_sum_mm = models.DecimalField(
        _("sum of target-lesion diameters"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(0, 1000),
        help_text=_("mm, 0–1000 (RECIST 1.1)."),
    )
    new_lesions = models.BooleanField(_("new lesions"))
    overall_response = models.CharField(
        _("overall response"),
        max_length=2,
        choices=c.RecistResponse.choices,
        blank=True,
        help_text=_("RECIST 1.1 overall response at this assessment (first 1L assessment: NE)."),
    )

    history = HistoricalRecords()

    required_unless_coded: ClassVar[frozenset[str]] = frozenset(
        {"target_sum_mm", "overall_response"}
    )
    codable_fields: ClassVar[frozenset[str]] = required_unless_coded

    class Meta:
        verbose_name = _("tumour assessment")
        verbose_name_plural = _("tumour assessments")
        ordering = ["assessment_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_sum_mm__gte=0, target_sum_mm__lte=1000),
                name="assessment_target_sum_range",
            ),
            models.UniqueConstraint(
                fields=["patient", "assessment_date", "line"], name="assessment_once_per_day_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line} assessment {self.assessment_date} of {self.patient}"


class SecondLineTherapy(CasebookRecord):
    section = c.Section.SECOND_LINE

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="second_line", verbose_name=_("patient")
    )
    start_date = models.DateField(
        _("2L start date"),
        help_text=_("Start of atezolizumab continuation: the index date for OS and PFS."),
    )
    chemotherapy_agent = models.CharField(
        _("chemotherapy agent"),
        max_length=30,
        choices=c.SecondLineChemotherapy.choices,
        blank=True,
    )
    antiangiogenic_agent = models.CharField(
        _("anti-angiogenic agent"),
        max_length=20,
        choices=c.AntiangiogenicAgent.choices,
        blank=True,
    )
    radiotherapy_site = models.CharField(
        _("radiotherapy site"),
        max_length=20,
        choices=c.RadiotherapySite.choices,
        blank=True,
        help_text=_("Radiotherapy given with the continued atezolizumab, and its site."),
    )
    cycles = models.PositiveSmallIntegerField(
        _("cycles"),
        null=True,
        blank=True,
        validators=_range(1, 100),
        help_text=_("2L atezolizumab cycles given, 1–100."),
    )
    end_date = models.DateField(
        _("end date"), null=True, blank=True, help_text=_("Empty while ongoing.")
    )
    end_reason = models.CharField(
        _("end reason"), max_length=20, choices=c.SecondLineEndReason.choices
    )
    progression_date = models.DateField(
        _("2L progression date"),
        null=True,
        blank=True,
        help_text=_("Empty if no progression on 2L."),
    )

    history = HistoricalRecords()

    required_unless_coded: ClassVar[frozenset[str]] = frozenset(
        {"chemotherapy_agent", "antiangiogenic_agent", "radiotherapy_site", "cycles"}
    )
    codable_fields: ClassVar[frozenset[str]] = required_unless_coded

    class Meta:
        verbose_name = _("second-line therapy")
        verbose_name_plural = _("second-line therapies")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="second_line_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(progression_date__isnull=True)
                | Q(progression_date__gte=models.F("start_date")),
                name="second_line_progression_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Second line of {self.patient}"

    def clean(self) -> None:
        errors = {}
        ongoing = self.end_reason == c.SecondLineEndReason.ONGOING
        if ongoing and self.end_date is not None:
            errors["end_date"] = gettext("Leave the end date empty while treatment is ongoing.")
        if not ongoing and self.end_date is None:
            errors["end_date"] = gettext("An end date is required when treatment ended.")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = gettext("2L end date must not be before the 2L start date.")
        if self.start_date and self.progression_date and self.progression_date < self.start_date:
            errors["progression_date"] = gettext(
                "2L progression date must not be before the 2L start date."
            )
        if self.end_reason == c.SecondLineEndReason.PROGRESSION and self.progression_date is None:
            errors["progression_date"] = gettext(
                "Treatment ended for progression: give the progression date."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def has_radiotherapy(self) -> bool | None:
        """None when the site carries a missing-data code."""
        if not self.radiotherapy_site:
            return None
        return self.radiotherapy_site != c.RadiotherapySite.NONE

    @property
    def has_antiangiogenic(self) -> bool | None:
        if not self.antiangiogenic_agent:
            return None
        return self.antiangiogenic_agent != c.AntiangiogenicAgent.NONE


class AdverseEvent(CasebookRecord):
    section = c.Section.ADVERSE_EVENTS

    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="adverse_events",
        verbose_name=_("patient"),
    )
    term = models.CharField(
        _("term"), max_length=60, choices=c.AeTerm.choices, help_text=_("CTCAE v5.0 term.")
    )
    term_other_specify = models.CharField(
        _("other term, specify"),
        max_length=200,
        blank=True,
        help_text=_("Only for 'Other, specify' (free text; not exported)."),
    )
    grade = models.PositiveSmallIntegerField(
        _("grade"),
        validators=_range(1, 5),
        help_text=_("CTCAE v5.0 grade, 1–5 (worst grade of this episode)."),
    )
    onset_date = models.DateField(_("onset date"), help_text=_("On or after the 2L start date."))
    resolution_date = models.DateField(
        _("resolution date"), null=True, blank=True, help_text=_("Empty if not resolved.")
    )
    serious = models.BooleanField(
        _("serious"), help_text=_("Serious adverse event (SAE criteria).")
    )
    immune_related = models.BooleanField(
        _("immune-related"), help_text=_("Immune-related adverse event (irAE).")
    )
    attribution = models.CharField(
        _("attribution"),
        max_length=20,
        choices=c.AeAttribution.choices,
        blank=True,
        help_text=_("Relation to atezolizumab."),
    )
    action_taken = models.CharField(
        _("action taken"), max_length=20, choices=c.AeAction.choices, blank=True
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=c.AeOutcome.choices)

    history = HistoricalRecords()

    identifier_fields: ClassVar[frozenset[str]] = frozenset({"term_other_specify"})
    required_unless_coded: ClassVar[frozenset[str]] = frozenset({"attribution", "action_taken"})
    codable_fields: ClassVar[frozenset[str]] = required_unless_coded

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        ordering = ["onset_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=5), name="ae_grade_1_5"),
            models.CheckConstraint(
                condition=Q(resolution_date__isnull=True)
                | Q(resolution_date__gte=models.F("onset_date")),
                name="ae_resolution_after_onset",
            ),
            models.CheckConstraint(
                condition=~Q(grade=5) | Q(outcome="fatal"), name="ae_grade5_is_fatal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term} grade {self.grade} of {self.patient}"

    def clean(self) -> None:
        errors = {}
        if self.term == c.AeTerm.OTHER and not self.term_other_specify.strip():
            errors["term_other_specify"] = gettext(
                "Specify the term when 'Other, specify' is chosen."
            )
        if self.term != c.AeTerm.OTHER and self.term_other_specify.strip():
            errors["term_other_specify"] = gettext("Only for 'Other, specify'; leave empty.")
        if self.onset_date and self.resolution_date and self.resolution_date < self.onset_date:
            errors["resolution_date"] = gettext(
                "Resolution date must not be before the onset date."
            )
        if self.grade == 5 and self.outcome != c.AeOutcome.FATAL:
            errors["outcome"] = gettext(
                "A grade 5 adverse event is fatal: outcome must be 'Fatal'."
            )
        if self.outcome == c.AeOutcome.FATAL and self.grade != 5:
            errors["grade"] = gettext("A fatal outcome is grade 5.")
        if errors:
            raise ValidationError(errors)


class FollowUp(CasebookRecord):
    section = c.Section.FOLLOW_UP

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("patient")
    )
    contact_date = models.DateField(
        _("contact date"), help_text=_("Date of the contact or record review.")
    )
    vital_status = models.CharField(_("vital status"), max_length=10, choices=c.VitalStatus.choices)
    death_date = models.DateField(
        _("death date"), null=True, blank=True, help_text=_("Required when dead.")
    )
    death_cause = models.CharField(
        _("cause of death"),
        max_length=20,
        choices=c.DeathCause.choices,
        blank=True,
        help_text=_("Required when dead."),
    )
    progression_status = models.CharField(
        _("progression status"), max_length=20, choices=c.ProgressionStatus.choices, blank=True
    )

    history = HistoricalRecords()

    required_unless_coded: ClassVar[frozenset[str]] = frozenset({"progression_status"})
    codable_fields: ClassVar[frozenset[str]] = required_unless_coded | {"death_cause"}

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["contact_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vital_status="dead", death_date__isnull=False)
                | (~Q(vital_status="dead") & Q(death_date__isnull=True)),
                name="follow_up_death_date_iff_dead",
            ),
            models.CheckConstraint(
                condition=Q(death_date__isnull=True) | Q(death_date__lte=models.F("contact_date")),
                name="follow_up_death_not_after_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up {self.contact_date} of {self.patient}"

    def clean(self) -> None:
        errors = {}
        if self.death_date is not None and self.vital_status != c.VitalStatus.DEAD:
            errors["vital_status"] = gettext("A death date is given: vital status must be 'Dead'.")
        if self.vital_status == c.VitalStatus.DEAD:
            if self.death_date is None:
                errors["death_date"] = gettext("Vital status is 'Dead': give the death date.")
            if not self.death_cause and not self.is_coded("death_cause"):
                errors["death_cause"] = gettext("Vital status is 'Dead': give the cause of death.")
        elif self.death_cause:
            errors["death_cause"] = gettext("Only for a patient who died; leave empty.")
        if self.death_date and self.contact_date and self.death_date > self.contact_date:
            errors["death_date"] = gettext(
                "Death date must not be after the contact date that reports it."
            )
        if errors:
            raise ValidationError(errors)


class SectionCompletion(models.Model):
    """A casebook part marked complete; afterwards every change to it needs a reason."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="completions", verbose_name=_("patient")
    )
    section = models.CharField(_("part"), max_length=20, choices=c.Section.choices)
    completed_at = models.DateTimeField(_("completed at"))
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("completed by")
    )

    class Meta:
        verbose_name = _("part completion")
        verbose_name_plural = _("part completions")
        constraints = [
            models.UniqueConstraint(fields=["patient", "section"], name="section_completed_once")
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.section} complete"


class SignatureQuerySet(models.QuerySet):
    def valid(self) -> SignatureQuerySet:
        """Signatures that still stand: no void row refers to them."""
        return self.filter(void__isnull=True)


class Signature(models.Model):
    """An electronic signature applied when a casebook is locked (who, when, meaning).

    A signature row never changes: an unlock adds a ``SignatureVoid`` row that refers to it
    (21 CFR Part 11: the record of the signature and of its withdrawal both stay).
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="signatures", verbose_name=_("patient")
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("signed by"),
    )
    signed_at = models.DateTimeField(_("signed at"))
    meaning = models.TextField(_("meaning"), help_text=_("The statement the signer confirmed."))

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.patient} signed by {self.signed_by} at {self.signed_at:%Y-%m-%d %H:%M}"

    def _void(self) -> SignatureVoid | None:
        try:
            return self.void
        except SignatureVoid.DoesNotExist:
            return None

    @property
    def voided_at(self):
        void = self._void()
        return void.voided_at if void else None

    @property
    def voided_by(self):
        void = self._void()
        return void.voided_by if void else None

    @property
    def void_reason(self) -> str:
        void = self._void()
        return void.reason if void else ""


class SignatureVoid(models.Model):
    """The withdrawal of a signature by an unlock: a row of its own, never an edit."""

    signature = models.OneToOneField(
        Signature, on_delete=models.PROTECT, related_name="void", verbose_name=_("signature")
    )
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="signature_voids",
        verbose_name=_("voided by"),
    )
    voided_at = models.DateTimeField(_("voided at"))
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("voided signature")
        verbose_name_plural = _("voided signatures")
        ordering = ["-voided_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="signature_void_has_reason")
        ]

    def __str__(self) -> str:
        return f"{self.signature} voided by {self.voided_by} at {self.voided_at:%Y-%m-%d %H:%M}"


class AuditEvent(models.Model):
    """Workflow events that are not field changes: lock, unlock, completion, deletion, export.

    Field-level changes (old and new values, with the reason) are in each model's
    simple-history table; this log records the actions around them.
    """

    class Action(models.TextChoices):
        REGISTER = "register", _("Registered")
        SCREEN_FAIL = "screen_fail", _("Screen failure recorded")
        SECTION_COMPLETE = "section_complete", _("Part marked complete")
        CASEBOOK_COMPLETE = "casebook_complete", _("Casebook complete")
        CASEBOOK_REOPENED = (
            "casebook_reopened",
            _("Casebook back in progress after a change"),
        )
        LOCK = "lock", _("Locked and signed")
        LOCK_REFUSED = "lock_refused", _("Lock refused")
        UNLOCK = "unlock", _("Unlocked")
        DELETE = "delete", _("Record deleted")
        EXPORT = "export", _("Export")
        EXPORT_DOWNLOAD = "export_download", _("Export downloaded")
        EXPORT_REFUSED = "export_refused", _("Export refused or failed")
        QUERY_RAISE = "query_raise", _("Query raised")
        QUERY_ANSWER = "query_answer", _("Query answered")
        QUERY_CLOSE = "query_close", _("Query closed")
        QUERY_REOPEN = "query_reopen", _("Query re-opened")
        SDV_VERIFY = "sdv_verify", _("Verified against source")
        SDV_DROPPED = "sdv_dropped", _("Source verification dropped by a change")
        AUDIT_EXPORT = "audit_export", _("Audit trail exported")
        CUT_FREEZE = "cut_freeze", _("Data cut frozen")
        CUT_DOWNLOAD = "cut_download", _("Data cut downloaded")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        verbose_name=_("user"),
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    patient = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        verbose_name=_("patient"),
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}"


CRF_MODELS: tuple[type[CasebookRecord], ...] = (
    Baseline,
    FirstLineTherapy,
    TumourAssessment,
    SecondLineTherapy,
    AdverseEvent,
    FollowUp,
)
REPEATING_SECTIONS = frozenset(
    {c.Section.ASSESSMENTS, c.Section.ADVERSE_EVENTS, c.Section.FOLLOW_UP}
)
MODEL_BY_SECTION: dict[str, type[models.Model]] = {
    c.Section.REGISTRATION: Patient,
    **{model.section: model for model in CRF_MODELS},
}
