"""``manage.py seed_demo``: the demo study (6 centres, a user per role, 28 locked casebooks,
the analysis plan and its run, and data queries in every state).

Idempotent: centres and users are created or brought back to their demo settings, and a
patient already present (same centre and MRN) is left alone, so a second run changes
nothing. Each casebook is entered through the services as its centre's coordinator would
(validation, audit trail), marked complete and signed by the centre's investigator.
"""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.errors import ApplicationError
from fixtures.demo_cohort import build_demo_study
from registry import services
from registry.models import Center, Patient, User

# Order of entry within a casebook: the cross-part rules compare each record with those
# already saved, so dates are checked against what they depend on.
SECTIONS = ("baseline", "first_line", "second_line")
REPEATING = (
    ("assessments", "assessments"),
    ("adverse_events", "adverse_events"),
    ("follow_up", "follow_ups"),
)


class Command(BaseCommand):
    help = "Create the demo study: 6 centres, demo users and the 28-patient reference cohort."

    def handle(self, *args, **options) -> None:
        study = build_demo_study()
        centres = self._centres(study)
        users = self._users(study, centres)
        created = 0
        for entry in study["patients"]:
            centre = centres[entry["center"]]
            if Patient.objects.filter(center=centre, mrn=entry["registration"]["mrn"]).exists():
                continue
            coordinator = users[f"coord_{centre.code.lower()}"]
            investigator = users[f"inv_{centre.code.lower()}"]
            try:
                enter_casebook(entry, coordinator, investigator, study["password"])
            except ApplicationError as error:
                raise CommandError(
                    f"demo patient {entry['index']} at {centre.code}: {error.message} "
                    f"{error.fields}"
                ) from error
            created += 1
        total = Patient.objects.filter(center__in=centres.values()).count()
        self.stdout.write(
            f"Demo study: {len(centres)} centres, {total} patients ({created} added now), "
            f"all casebooks complete and locked."
        )
        # The analysis plan is seeded after the locks: with no plan yet the 28 locks queue
        # no runs, and saving the plan queues the one run that analyses the whole cohort.
        # Called by name so the registry does not import the analytics app.
        call_command("seed_analysis_plan", stdout=self.stdout)
        # Open, answered and closed queries on the locked casebooks (the quality app).
        call_command("seed_demo_queries", stdout=self.stdout)
        self._print_logins(study)

    def _centres(self, study: dict) -> dict[str, Center]:
        centres = {}
        for spec in study["centres"]:
            centre, _ = Center.objects.update_or_create(
                code=spec["code"], defaults={"name": spec["name"]}
            )
            centres[centre.code] = centre
        return centres

    def _users(self, study: dict, centres: dict[str, Center]) -> dict[str, User]:
        users = {}
        # One hash for all demo accounts: checking and hashing cost ~0.5 s each (PBKDF2),
        # so a re-run verifies each distinct stored hash once instead of every account.
        verified: dict[str, bool] = {}
        shared_hash = ""
        for spec in study["users"]:
            defaults = {
                "role": spec["role"],
                "center": centres[spec["center"]] if spec["center"] else None,
                "first_name": spec["first_name"],
                "last_name": spec["last_name"],
                "is_staff": spec.get("is_staff", False),
                "is_superuser": spec.get("is_superuser", False),
                "is_active": True,
            }
            user, _ = User.objects.update_or_create(username=spec["username"], defaults=defaults)
            # Re-hashing on every run would change the row; only reset a changed password.
            if user.password not in verified:
                verified[user.password] = check_password(study["password"], user.password)
            if not verified[user.password]:
                shared_hash = shared_hash or make_password(study["password"])
                user.password = shared_hash
                user.save(update_fields=["password"])
                verified[shared_hash] = True
            users[user.username] = user
        return users

    def _print_logins(self, study: dict) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {study['password']}):")
        for spec in study["users"]:
            where = spec["center"] or "all centres"
            self.stdout.write(f"  {spec['username']:<14} {spec['role']:<13} {where}")


@transaction.atomic
def enter_casebook(entry: dict, coordinator: User, investigator: User, password: str) -> Patient:
    """One demo casebook through the services: register, enter every part, complete, sign."""
    patient = services.patient_register(user=coordinator, data=entry["registration"])
    for section in SECTIONS:
        services.crf_record_save(
            user=coordinator, patient=patient, section=section, data=entry[section]
        )
    for section, key in REPEATING:
        for data in entry[key]:
            services.crf_record_save(user=coordinator, patient=patient, section=section, data=data)
    if not entry["adverse_events"]:
        services.adverse_events_none_confirm(user=coordinator, patient=patient)
    services.casebook_mark_complete(user=coordinator, patient=patient)
    services.casebook_lock(
        user=investigator, patient=patient, password=password, meaning=services.SIGNATURE_MEANING
    )
    patient.refresh_from_db()
    return patient
