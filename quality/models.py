"""Data queries: a question on one field, one part or a whole casebook, and its thread."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import choices as c
from registry.models import Patient


class QueryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class Query(models.Model):
    """A discrepancy note: raised by a data manager, answered by the site, closed or re-opened.

    ``section`` empty means the whole casebook; ``field`` empty means the whole part.
    ``record_id`` names the record of a repeating part (and, for a single part, the record
    the question was asked about). The value the field had when the query was raised is
    kept, so a reviewer sees what was questioned even after a correction.
    """

    Status = QueryStatus

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Raised by a data manager")
        RULE = "rule", _("Raised by a data-quality rule")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="queries")
    section = models.CharField(
        max_length=20, choices=c.Section.choices, blank=True, help_text=_("Empty: the casebook.")
    )
    record_id = models.PositiveBigIntegerField(null=True, blank=True)
    field = models.CharField(max_length=60, blank=True, help_text=_("Empty: the whole part."))
    value_at_raise = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    rule_code = models.CharField(max_length=40, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for a query raised by a rule."),
    )
    raised_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name_plural = _("queries")
        indexes = [models.Index(fields=["patient", "status"], name="query_patient_status")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(section="") | (Q(field="") & Q(record_id__isnull=True)),
                name="query_casebook_level_has_no_field",
            ),
            models.CheckConstraint(
                condition=Q(status=QueryStatus.CLOSED, closed_at__isnull=False)
                | (~Q(status=QueryStatus.CLOSED) & Q(closed_at__isnull=True)),
                name="query_closed_has_time",
            ),
            # One automatic query per rule and record, ever: a query a data manager closed
            # while the hit persists is never opened again. Two partial indexes, because a
            # NULL record_id is distinct from every other in a unique index (NULLS NOT
            # DISTINCT is PostgreSQL 15+ only; SQLite has none).
            models.UniqueConstraint(
                fields=["rule_code", "patient", "section", "record_id"],
                condition=Q(origin="rule", record_id__isnull=False),
                name="query_rule_once_per_record",
            ),
            models.UniqueConstraint(
                fields=["rule_code", "patient", "section"],
                condition=Q(origin="rule", record_id__isnull=True),
                name="query_rule_once_per_part",
            ),
        ]

    def __str__(self) -> str:
        return f"Query {self.pk} on {self.patient} {self.where}"

    @property
    def where(self) -> str:
        """Casebook, part or part/record/field, for lists and messages."""
        if not self.section:
            return "casebook"
        parts = [self.section]
        if self.record_id is not None:
            parts.append(f"#{self.record_id}")
        if self.field:
            parts.append(self.field)
        return " ".join(parts)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class QueryMessage(models.Model):
    """One step of a query's thread; a correction made with an answer is kept in ``detail``."""

    class Kind(models.TextChoices):
        RAISE = "raise", _("Raised")
        ANSWER = "answer", _("Answered")
        CLOSE = "close", _("Closed")
        REOPEN = "reopen", _("Re-opened")

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author} at {self.at:%Y-%m-%d %H:%M}"


# -- source data verification ------------------------------------------------------------------

# The values a monitor must check against the source before a casebook counts as verified:
# eligibility, the dates the survival analyses are computed from, and the adverse events.
DEFAULT_CRITICAL_FIELDS: tuple[str, ...] = (
    *(f"registration.{name}" for name in Patient.inclusion_fields),
    *(f"registration.{name}" for name in Patient.exclusion_fields),
    "first_line.progression_date",
    "second_line.start_date",
    "second_line.progression_date",
    "follow_up.contact_date",
    "follow_up.death_date",
    "adverse_events.term",
    "adverse_events.grade",
)


def default_critical_fields() -> list[str]:
    return list(DEFAULT_CRITICAL_FIELDS)


class StudySettings(models.Model):
    """Study-wide data-management settings: one row (id 1); without it, the defaults hold."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    critical_fields = models.JSONField(
        _("critical fields"),
        default=default_critical_fields,
        help_text=_(
            'Values that need source verification, as "part.field" '
            '(e.g. "second_line.start_date"); a repeating part\'s field counts in every record.'
        ),
    )
    lock_requires_sdv = models.BooleanField(
        _("lock requires source data verification"),
        default=False,
        help_text=_("A casebook is locked only when all its critical values are verified."),
    )

    class Meta:
        verbose_name = _("study settings")
        verbose_name_plural = _("study settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="study_settings_one_row")]

    def __str__(self) -> str:
        return str(_("Study settings"))

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from registry.models import MODEL_BY_SECTION

        if not isinstance(self.critical_fields, list):
            raise ValidationError({"critical_fields": _('A list of "part.field" names.')})
        unknown = []
        for name in self.critical_fields:
            section, _dot, field = str(name).partition(".")
            model = MODEL_BY_SECTION.get(section)
            try:
                known = model is not None and model._meta.get_field(field).editable
            except Exception:
                known = False
            if not known:
                unknown.append(str(name))
        if unknown:
            raise ValidationError(
                {"critical_fields": _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)}}
            )


class Verification(models.Model):
    """A monitor's check of one value (``field``) or a whole part or record (``field`` empty)
    against the source documents.

    ``record_id`` names the record of a repeating part; it is empty for the registration
    and the single parts. A change to a verified value drops the verification
    (``dropped_at``, with what changed in ``drop_detail``); a new check is a new row, so the
    history of checks stays. Identifier values are never copied into ``value_at_verification``.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="verifications")
    section = models.CharField(max_length=20, choices=c.Section.choices)
    record_id = models.PositiveBigIntegerField(null=True, blank=True)
    field = models.CharField(max_length=60, blank=True, help_text=_("Empty: the whole part."))
    value_at_verification = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(default=timezone.now)
    dropped_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty while valid."))
    drop_detail = models.JSONField(
        default=dict, blank=True, help_text=_("What changed: field, old and new value, by whom.")
    )

    class Meta:
        ordering = ["-verified_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "section"], name="verification_patient_section"),
            models.Index(fields=["dropped_at"], name="verification_dropped"),
        ]
        constraints = [
            # One valid check per target; record_id is compared as 0 when empty, since
            # NULLs never collide in a unique index.
            models.UniqueConstraint(
                models.F("patient"),
                models.F("section"),
                Coalesce("record_id", models.Value(0)),
                models.F("field"),
                condition=Q(dropped_at__isnull=True),
                name="verification_one_valid_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Verification {self.pk} of {self.patient} {self.where}"

    @property
    def where(self) -> str:
        parts = [self.section]
        if self.record_id is not None:
            parts.append(f"#{self.record_id}")
        if self.field:
            parts.append(self.field)
        return " ".join(parts)

    @property
    def is_valid(self) -> bool:
        return self.dropped_at is None


# -- notifications -----------------------------------------------------------------------------


class Notification(models.Model):
    """Something a user should look at: a query opened on their centre, a query answered, a
    casebook ready to sign. Shown in the app until read; emailed once (``emailed_at``), at
    once or in the daily digest, as the recipient chose (``NotificationPreference``).

    ``text`` is a short summary built from the study id, part and field only: never an
    identifier value nor a query's free text, so it may go into an email as it is.
    """

    class Kind(models.TextChoices):
        QUERY_OPENED = "query_opened", _("Query opened on your centre")
        QUERY_REOPENED = "query_reopened", _("Query re-opened on your centre")
        QUERY_ANSWERED = "query_answered", _("Query answered")
        READY_TO_SIGN = "ready_to_sign", _("Casebook ready to sign")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    query = models.ForeignKey(
        Query, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty until the email (or digest) with it is sent.")
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            # The digest and the immediate sender look for what is not emailed yet.
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(emailed_at__isnull=True),
                name="notification_not_emailed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient}: {self.text}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """How one user wants their notifications emailed; without a row: at once."""

    class Email(models.TextChoices):
        IMMEDIATE = "immediate", _("One email per notification, at once")
        DAILY = "daily", _("One daily digest")
        NONE = "none", _("No email (in the registry only)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_email_display()}"
