"""``manage.py seed_demo_queries``: the demo study's data queries, in every state.

Run by ``seed_demo`` after the casebooks are locked; runs ``seed_demo_verifications``
last. Queries on a locked casebook may be raised and answered (a correction would need
an unlock), so the demo shows open, answered and closed queries without changing the
cohort's numbers. Idempotent: nothing is added when the demo already has queries raised
by a data manager (the data-quality rules' automatic queries, opened as each casebook was
saved, do not count).
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F

from fixtures.demo_cohort import build_demo_study
from quality import services
from quality.models import Notification, NotificationPreference, Query
from registry.models import AdverseEvent, Patient, User

# (centre, n-th patient of the centre, part, field, question, answer, closing note)
DEMO_QUERIES = (
    ("NGH", 0, "baseline", "weight_kg", "The clinic letter of the same week says 2 kg less; "
     "which value is from the baseline visit?", None, None),
    ("RVH", 0, "first_line", "cycles", "Six cycles entered; the chemotherapy chart lists "
     "four before the switch. Please confirm.", None, None),
    ("LCC", 1, "adverse_events", "grade", "Grade 3 pneumonitis: was a steroid course given? "
     "Please attach the discharge letter.", None, None),
    ("EMU", 0, "second_line", "start_date", "Start date is a Sunday; is it the infusion date?",
     "Infusion given on the Monday after; the date is the consent to treatment.", None),
    ("WPH", 1, "baseline", "ecog", "ECOG 2 at baseline but 0 in the 2L letter; which is right?",
     "ECOG 2 is from the baseline visit; the letter refers to a later visit.", None),
    ("SCH", 0, "first_line", "progression_date", "Progression date before the last response "
     "assessment; please check the CT report.", "CT report confirms the date.",
     "Checked against the CT report."),
    ("NGH", 1, "baseline", "height_cm", "Height 185 cm: please confirm.",
     "Confirmed in the nursing record.", "Confirmed."),
    ("RVH", 1, "", "", "Consent form version 2.1 on file?", "Yes, version 2.1 signed.",
     "Verified at the monitoring visit."),
)  # fmt: skip


# Who is emailed how in the demo: the rest keep the default (one email at once).
DEMO_EMAIL_PREFERENCES = {
    "coord_ngh": NotificationPreference.Email.IMMEDIATE,
    "coord_rvh": NotificationPreference.Email.DAILY,
    "coord_lcc": NotificationPreference.Email.DAILY,
    "inv_ngh": NotificationPreference.Email.IMMEDIATE,
    "datamanager": NotificationPreference.Email.DAILY,
    "pi": NotificationPreference.Email.NONE,
}


class Command(BaseCommand):
    help = "Add the demo study's open, answered and closed data queries (idempotent)."

    def handle(self, *args, **options) -> None:
        self._queries()
        # Then the monitor's source verification (and the study's rule that a lock needs it).
        call_command("seed_demo_verifications", stdout=self.stdout)
        self._notification_settings()

    @transaction.atomic
    def _queries(self) -> None:
        manual = Query.objects.filter(origin=Query.Origin.MANUAL)
        if manual.exists():
            self.stdout.write("Demo queries: present already, none added.")
            return
        manager = User.objects.get(username="datamanager")
        for code, nth, section, field, question, answer, closing in DEMO_QUERIES:
            patient = Patient.objects.filter(center__code=code).order_by("sequence")[nth]
            record_id = None
            if section == "adverse_events":
                record_id = AdverseEvent.objects.filter(patient=patient).order_by("pk")[0].pk
            query = services.query_raise(
                user=manager,
                patient=patient,
                section=section,
                record_id=record_id,
                field=field,
                text=question,
            )
            if answer:
                coordinator = User.objects.get(username=f"coord_{code.lower()}")
                services.query_answer(user=coordinator, query_id=query.pk, text=answer)
            if closing:
                services.query_close(user=manager, query_id=query.pk, text=closing)
        counts = {status: manual.filter(status=status).count() for status in Query.Status}
        self.stdout.write(
            "Demo queries: "
            + ", ".join(f"{counts[s]} {s.label.lower()}" for s in Query.Status)
            + "."
        )

    @transaction.atomic
    def _notification_settings(self) -> None:
        """Email addresses (reserved .invalid domain: never delivered) and preferences for the
        demo accounts, and what is done marked read. The notifications
        themselves were written by the services as the queries were raised and answered
        (before any account had an address, so seeding emails nobody)."""
        demo_accounts = [spec["username"] for spec in build_demo_study()["users"]]
        for user in User.objects.filter(email="", username__in=demo_accounts):
            user.email = f"{user.username}@demo.invalid"
            user.save(update_fields=["email"])
        for username, email in DEMO_EMAIL_PREFERENCES.items():
            user = User.objects.filter(username=username).first()
            if user is not None:
                NotificationPreference.objects.update_or_create(
                    user=user, defaults={"email": email}
                )
        # What is done is read: the closed queries' notifications. (The locks already marked
        # their casebooks' "ready to sign" read.)
        Notification.objects.filter(query__status=Query.Status.CLOSED, read_at__isnull=True).update(
            read_at=F("created_at")
        )
        unread = Notification.objects.filter(read_at__isnull=True).count()
        self.stdout.write(
            f"Demo notifications: {Notification.objects.count()} ({unread} unread); "
            "emails print on the console."
        )
