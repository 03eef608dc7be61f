"""Data-quality rules: every check the data managers run over the cohort, in one module.

Each ``Rule`` has a code (stable: automatic queries are keyed by it), a message (shown in
the query and on the report), a severity, the part it concerns and its fields, and a
function from a scope (a ``Patient`` queryset) to its hits: ``(patient_id, record_id)``
pairs, ``record_id`` set for a repeating part (assessments, adverse events, follow-up)
and None otherwise. Every function builds ONE query (annotations, subqueries, ``Exists``),
never a loop per patient, so the whole cohort is checked in one pass per rule.

Severities: ``error`` (a rule the data must obey) and ``warning`` (legal but suspicious)
open an automatic query (``quality.checks.rules_run``); ``notice`` is only reported —
"last contact older than the follow-up interval" is a notice because every alive patient
of a retrospective cohort would hit it and each query would block its lock.

What is checked, and what is not:
- Missing parts of an enrolled casebook (baseline, first line, second line, follow-up).
  These, and the two rules below that ask for a record not entered yet (death by an AE
  without its grade 5 AE — which the services only accept after the death; a progression
  without a later contact), wait until the casebook is ``QUALITY_ENTRY_GRACE_DAYS`` old: a
  coordinator entering it part by part is not questioned between two saves. Required single values
  are NOT NULL columns and conditional ones (pack-years, death cause…) are refused by the
  models' ``clean``, so a part's absence is the only "missing value" the data can hold.
- Soft ranges: BMI < 15 or > 40, age > 90 at registration, OS > 10 years (2L start to the
  death or last contact), more than 30 cycles on 1L or 2L.
- Suspicious combinations: a grade 5 AE without a follow-up reporting death; death cause
  "adverse event" without a grade 5 AE; a 2L progression date after the last tumour
  assessment with no follow-up contact on or after it; last contact older than the
  follow-up interval (notice).
- The hard cross-part rules of ``registry.rules`` (checked per casebook when a record is
  saved), re-checked set-based here for data that reached the tables another way (imports,
  bulk generation, older versions): age ≥ 18, diagnosis not after registration, 1L start
  not before diagnosis, 2L start not before the 1L progression, 1L assessments between the
  diagnosis and the 2L start, 2L assessments and AE onsets not before the 2L start, death
  dates that agree and are not before the 2L start, and no 1L/2L date, assessment, AE
  onset or alive/lost contact after the death. Not re-checked: an AE's resolution date
  after the death (the only one left out, for time; the services still refuse it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractDay, ExtractMonth, ExtractYear
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from registry import choices as c
from registry.models import (
    AdverseEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)


class Severity:
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    # Severities that open an automatic query; a notice is only reported.
    OPENS_QUERY = frozenset({ERROR, WARNING})
    LABELS = {ERROR: _("error"), WARNING: _("warning"), NOTICE: _("notice")}


HitQuery = Callable[[QuerySet[Patient]], QuerySet]


@dataclass(frozen=True)
class Rule:
    code: str
    message: str | Promise
    severity: str
    section: str
    fields: tuple[str, ...]
    hits: HitQuery  # scope → values_list("patient_id", "record_id"): one query

    @property
    def field(self) -> str:
        """The field an automatic query names: the rule's only field, '' for several."""
        return self.fields[0] if len(self.fields) == 1 else ""

    @property
    def severity_label(self) -> str:
        return str(Severity.LABELS[self.severity])

    @property
    def section_label(self) -> str:
        return str(c.Section(self.section).label)

    @property
    def message_code(self) -> str:
        """The code an automatic query's first message keeps (``message_text``)."""
        return f"{RULE_MESSAGE_PREFIX}{self.code}"

    @property
    def opens_query(self) -> bool:
        return self.severity in Severity.OPENS_QUERY


_NO_RECORD = Value(None, output_field=BigIntegerField())
OS_MAX_DAYS = 3652  # 10 Julian years are 3652.5 days: OS > 10 years ⟺ more than 3652 days
CYCLES_MAX = 30
AGE_MAX = 90
BMI_LOW, BMI_HIGH = 15, 40


def _patients(scope: QuerySet[Patient], *conditions, **lookups) -> QuerySet:
    return scope.filter(*conditions, **lookups).values_list("pk", _NO_RECORD)


def _single(model, scope: QuerySet[Patient], *conditions, **lookups) -> QuerySet:
    """Hits on a single part (baseline, first line, second line): no record id."""
    return (
        model.objects.filter(patient__in=scope)
        .filter(*conditions, **lookups)
        .values_list("patient_id", _NO_RECORD)
    )


def _repeating(model, scope: QuerySet[Patient], *conditions, **lookups) -> QuerySet:
    """Hits on a row of a repeating part: the row's id is the record."""
    return (
        model.objects.filter(patient__in=scope)
        .filter(*conditions, **lookups)
        .values_list("patient_id", "pk")
    )


def _age(birth: str, on: str):
    """Whole years from ``birth`` to ``on`` (one less before the birthday), in SQL."""
    before_birthday = LessThan(
        ExtractMonth(on) * 100 + ExtractDay(on), ExtractMonth(birth) * 100 + ExtractDay(birth)
    )
    return (
        ExtractYear(on)
        - ExtractYear(birth)
        - Case(When(before_birthday, then=Value(1)), default=Value(0), output_field=IntegerField())
    )


def _death(patient_ref: str = "patient_id"):
    """The patient's death date (the earliest one reported), as a correlated subquery."""
    return Subquery(
        FollowUp.objects.filter(patient=OuterRef(patient_ref), death_date__isnull=False)
        .order_by("death_date")
        .values("death_date")[:1]
    )


def _entered_before_grace(scope: QuerySet[Patient]) -> QuerySet[Patient]:
    """Enrolled casebooks created in the registry at least ``QUALITY_ENTRY_GRACE_DAYS`` ago."""
    grace = timedelta(days=settings.QUALITY_ENTRY_GRACE_DAYS)
    return scope.filter(
        enrolment_status=c.EnrolmentStatus.ENROLLED, created_at__lte=timezone.now() - grace
    )


def _missing(model):
    def hits(scope):
        return (
            _entered_before_grace(scope)
            .filter(~Exists(model.objects.filter(patient=OuterRef("pk"))))
            .values_list("pk", _NO_RECORD)
        )

    return hits


# -- soft ranges ----------------------------------------------------------------------------


def _bmi(compare, bound: int):
    """BMI = kg / m² compared without a division: kg × 10,000 against bound × cm²."""

    def hits(scope):
        weight = Cast("weight_kg", output_field=FloatField())
        height = Cast("height_cm", output_field=FloatField())
        return _single(Baseline, scope, compare(weight * 10000, height * height * bound))

    return hits


def _age_over_90(scope):
    return _patients(scope, GreaterThan(_age("date_of_birth", "registration_date"), AGE_MAX))


def _os_over_10_years(scope):
    last = Max(Coalesce("patient__follow_ups__death_date", "patient__follow_ups__contact_date"))
    return (
        SecondLineTherapy.objects.filter(patient__in=scope)
        .annotate(os_end=last)
        .filter(os_end__gt=F("start_date") + timedelta(days=OS_MAX_DAYS))
        .values_list("patient_id", _NO_RECORD)
    )


# -- suspicious combinations ---------------------------------------------------------------


def _grade5_without_death(scope):
    dead = FollowUp.objects.filter(patient=OuterRef("patient_id"), vital_status=c.VitalStatus.DEAD)
    return _repeating(AdverseEvent, scope, ~Exists(dead), grade=5)


def _ae_death_without_grade5(scope):
    grade5 = AdverseEvent.objects.filter(patient=OuterRef("patient_id"), grade=5)
    return _repeating(
        FollowUp,
        _entered_before_grace(scope),
        ~Exists(grade5),
        death_cause=c.DeathCause.ADVERSE_EVENT,
    )


def _progression_unsupported(scope):
    last_assessment = Subquery(
        TumourAssessment.objects.filter(patient=OuterRef("patient_id"))
        .order_by("-assessment_date")
        .values("assessment_date")[:1]
    )
    later_contact = FollowUp.objects.filter(
        patient=OuterRef("patient_id"), contact_date__gte=OuterRef("progression_date")
    )
    return (
        SecondLineTherapy.objects.filter(
            patient__in=_entered_before_grace(scope), progression_date__isnull=False
        )
        .annotate(last_assessment=last_assessment)
        .filter(Q(last_assessment__isnull=True) | Q(progression_date__gt=F("last_assessment")))
        .filter(~Exists(later_contact))
        .values_list("patient_id", _NO_RECORD)
    )


def last_contact_overdue(scope: QuerySet[Patient]) -> QuerySet[Patient]:
    """Enrolled patients of ``scope`` with no death recorded whose last contact is older than
    ``QUALITY_FOLLOW_UP_INTERVAL_DAYS``, annotated ``last_contact``: the rule below and the
    coordinators' "overdue follow-ups" list share this one definition."""
    cutoff = timezone.localdate() - timedelta(days=settings.QUALITY_FOLLOW_UP_INTERVAL_DAYS)
    dead = FollowUp.objects.filter(patient=OuterRef("pk"), vital_status=c.VitalStatus.DEAD)
    return (
        scope.filter(enrolment_status=c.EnrolmentStatus.ENROLLED)
        .annotate(last_contact=Max("follow_ups__contact_date"))
        .filter(last_contact__lt=cutoff)
        .filter(~Exists(dead))
    )


def _last_contact_overdue(scope):
    return last_contact_overdue(scope).values_list("pk", _NO_RECORD)


# -- the hard cross-part rules of registry.rules, set-based ----------------------------------


def _age_under_18(scope):
    return _patients(scope, LessThan(_age("date_of_birth", "registration_date"), 18))


def _diagnosis_after_registration(scope):
    return _single(Baseline, scope, diagnosis_date__gt=F("patient__registration_date"))


def _l1_start_before_diagnosis(scope):
    return _single(FirstLineTherapy, scope, start_date__lt=F("patient__baseline__diagnosis_date"))


def _l2_start_before_l1_progression(scope):
    return _single(
        SecondLineTherapy, scope, start_date__lt=F("patient__first_line__progression_date")
    )


def _assessment_1l_outside_window(scope):
    return _repeating(
        TumourAssessment,
        scope,
        Q(assessment_date__lt=F("patient__baseline__diagnosis_date"))
        | Q(assessment_date__gt=F("patient__second_line__start_date")),
        line=c.TreatmentLine.FIRST,
    )


def _assessment_2l_before_start(scope):
    return _repeating(
        TumourAssessment,
        scope,
        line=c.TreatmentLine.SECOND,
        assessment_date__lt=F("patient__second_line__start_date"),
    )


def _ae_onset_before_l2_start(scope):
    return _repeating(AdverseEvent, scope, onset_date__lt=F("patient__second_line__start_date"))


def _death_dates_disagree(scope):
    other = FollowUp.objects.filter(
        patient=OuterRef("patient_id"), death_date__isnull=False
    ).exclude(death_date=OuterRef("death_date"))
    return _repeating(FollowUp, scope, Exists(other), death_date__isnull=False)


def _death_before_l2_start(scope):
    return _repeating(FollowUp, scope, death_date__lt=F("patient__second_line__start_date"))


def _treatment_after_death(scope):
    death = _death("pk")
    return _patients(
        scope.alias(death=death).filter(death__isnull=False),
        Q(first_line__progression_date__gt=F("death"))
        | Q(second_line__start_date__gt=F("death"))
        | Q(second_line__end_date__gt=F("death"))
        | Q(second_line__progression_date__gt=F("death")),
    )


def _repeating_after_death(model, date_field: str, **lookups):
    def hits(scope):
        return (
            model.objects.filter(patient__in=scope, **lookups)
            .alias(death=_death())
            .filter(**{f"{date_field}__gt": F("death")})
            .values_list("patient_id", "pk")
        )

    return hits


S = c.Section
W, E, N = Severity.WARNING, Severity.ERROR, Severity.NOTICE

RULES: tuple[Rule, ...] = (
    # Missing parts of an enrolled casebook.
    Rule("missing_baseline", _("The baseline is missing."), E, S.BASELINE, (), _missing(Baseline)),
    Rule(
        "missing_first_line",
        _("The first-line therapy is missing."),
        E,
        S.FIRST_LINE,
        (),
        _missing(FirstLineTherapy),
    ),
    Rule(
        "missing_second_line",
        _("The second-line therapy is missing."),
        E,
        S.SECOND_LINE,
        (),
        _missing(SecondLineTherapy),
    ),
    Rule(
        "missing_follow_up",
        _("No follow-up contact is recorded."),
        E,
        S.FOLLOW_UP,
        (),
        _missing(FollowUp),
    ),
    # Soft ranges.
    Rule(
        "bmi_low",
        _("BMI under 15: please check the weight and height."),
        W,
        S.BASELINE,
        ("weight_kg", "height_cm"),
        _bmi(LessThan, BMI_LOW),
    ),
    Rule(
        "bmi_high",
        _("BMI over 40: please check the weight and height."),
        W,
        S.BASELINE,
        ("weight_kg", "height_cm"),
        _bmi(GreaterThan, BMI_HIGH),
    ),
    Rule(
        "age_over_90",
        _("Older than 90 at registration: please check the date of birth."),
        W,
        S.REGISTRATION,
        ("date_of_birth", "registration_date"),
        _age_over_90,
    ),
    Rule(
        "os_over_10_years",
        _("More than 10 years from the 2L start to the death or last contact: please check."),
        W,
        S.SECOND_LINE,
        ("start_date",),
        _os_over_10_years,
    ),
    Rule(
        "cycles_1l_over_30",
        _("More than 30 first-line cycles: please check."),
        W,
        S.FIRST_LINE,
        ("cycles",),
        lambda scope: _single(FirstLineTherapy, scope, cycles__gt=CYCLES_MAX),
    ),
    Rule(
        "cycles_2l_over_30",
        _("More than 30 second-line cycles: please check."),
        W,
        S.SECOND_LINE,
        ("cycles",),
        lambda scope: _single(SecondLineTherapy, scope, cycles__gt=CYCLES_MAX),
    ),
    # Legal but suspicious combinations.
    Rule(
        "ae_grade5_without_death",
        _("Grade 5 adverse event, but no follow-up reports the death."),
        E,
        S.ADVERSE_EVENTS,
        ("grade",),
        _grade5_without_death,
    ),
    Rule(
        "death_cause_ae_without_grade5",
        _("Death caused by an adverse event, but no grade 5 adverse event is recorded."),
        W,
        S.FOLLOW_UP,
        ("death_cause",),
        _ae_death_without_grade5,
    ),
    Rule(
        "progression_unconfirmed",
        _(
            "2L progression after the last tumour assessment and no follow-up contact on or "
            "after it: please document the progression."
        ),
        W,
        S.SECOND_LINE,
        ("progression_date",),
        _progression_unsupported,
    ),
    Rule(
        "last_contact_overdue",
        _("The last contact is older than the follow-up interval."),
        N,
        S.FOLLOW_UP,
        ("contact_date",),
        _last_contact_overdue,
    ),
    # The hard cross-part rules (registry.rules), re-checked over the cohort.
    Rule(
        "age_under_18",
        _("Younger than 18 at registration."),
        E,
        S.REGISTRATION,
        ("date_of_birth", "registration_date"),
        _age_under_18,
    ),
    Rule(
        "diagnosis_after_registration",
        _("The diagnosis date is after the registration date."),
        E,
        S.BASELINE,
        ("diagnosis_date",),
        _diagnosis_after_registration,
    ),
    Rule(
        "l1_start_before_diagnosis",
        _("The 1L start date is before the diagnosis date."),
        E,
        S.FIRST_LINE,
        ("start_date",),
        _l1_start_before_diagnosis,
    ),
    Rule(
        "l2_start_before_l1_progression",
        _("The 2L start date is before the 1L progression date."),
        E,
        S.SECOND_LINE,
        ("start_date",),
        _l2_start_before_l1_progression,
    ),
    Rule(
        "assessment_1l_outside_window",
        _("A 1L assessment is before the diagnosis or after the 2L start."),
        E,
        S.ASSESSMENTS,
        ("assessment_date",),
        _assessment_1l_outside_window,
    ),
    Rule(
        "assessment_2l_before_start",
        _("A 2L assessment is before the 2L start date."),
        E,
        S.ASSESSMENTS,
        ("assessment_date",),
        _assessment_2l_before_start,
    ),
    Rule(
        "ae_onset_before_l2_start",
        _("An adverse event starts before the 2L start date."),
        E,
        S.ADVERSE_EVENTS,
        ("onset_date",),
        _ae_onset_before_l2_start,
    ),
    Rule(
        "death_dates_disagree",
        _("Two follow-ups report different death dates."),
        E,
        S.FOLLOW_UP,
        ("death_date",),
        _death_dates_disagree,
    ),
    Rule(
        "death_before_l2_start",
        _("The death date is before the 2L start date."),
        E,
        S.FOLLOW_UP,
        ("death_date",),
        _death_before_l2_start,
    ),
    Rule(
        "treatment_after_death",
        _("A 1L or 2L date is after the death date."),
        E,
        S.SECOND_LINE,
        (),
        _treatment_after_death,
    ),
    Rule(
        "assessment_after_death",
        _("A tumour assessment is after the death date."),
        E,
        S.ASSESSMENTS,
        ("assessment_date",),
        _repeating_after_death(TumourAssessment, "assessment_date"),
    ),
    Rule(
        "ae_onset_after_death",
        _("An adverse event starts after the death date."),
        E,
        S.ADVERSE_EVENTS,
        ("onset_date",),
        _repeating_after_death(AdverseEvent, "onset_date"),
    ),
    Rule(
        "contact_after_death",
        _("A contact after the death date reports the patient alive or lost."),
        E,
        S.FOLLOW_UP,
        ("contact_date",),
        _repeating_after_death(
            FollowUp,
            "contact_date",
            vital_status__in=(c.VitalStatus.ALIVE, c.VitalStatus.LOST),
        ),
    ),
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


# -- the messages the rules write into a query's thread ---------------------------------------
#
# A thread message written by the rules keeps a code in its ``detail`` ("message_code") beside
# its text. The text is the English source string, for the API, the CSV and the audit trail,
# whatever language the run happened in; pages show ``message_text``: the code's message in
# the reader's language. A message a person wrote has no code and is shown as written.

RULE_MESSAGE_PREFIX = "rule."
RULE_CLOSED_CODE = "rule_closed"
RULE_CLOSED_MESSAGE = _("The rule no longer applies: the data were corrected.")


def message_for_code(code: str) -> str | Promise | None:
    """The translatable message of a stored code; None for a code this version does not know
    (a rule removed since), whose stored text is then shown."""
    if code == RULE_CLOSED_CODE:
        return RULE_CLOSED_MESSAGE
    if code.startswith(RULE_MESSAGE_PREFIX):
        rule = RULES_BY_CODE.get(code.removeprefix(RULE_MESSAGE_PREFIX))
        return rule.message if rule is not None else None
    return None


def message_text(text: str, detail: dict | None) -> str:
    """A thread message as a reader sees it: a coded message in the active language, or the
    text as stored."""
    code = (detail or {}).get("message_code") or ""
    message = message_for_code(code) if code else None
    return str(message) if message is not None else text


def source_text(message: str | Promise) -> str:
    """A translatable message in English (its source), the language data are stored in."""
    with translation.override(None):
        return str(message)
