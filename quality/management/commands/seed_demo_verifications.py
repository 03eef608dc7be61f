"""``manage.py seed_demo_verifications``: the demo study's source data verification.

Run by ``seed_demo_queries`` (itself run by ``seed_demo``). A monitor has verified every
critical value of two centres (NGH, RVH) and of the first half of a third (LCC), part by
part; the other centres are not visited yet. Then the study requires complete SDV before a
lock. The demo's casebooks are locked already, so nothing is refused now: a casebook
unlocked for a correction at EMU, say, cannot be locked again until it is verified.
Idempotent: nothing is added when the demo already has verifications.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from quality import verifications
from quality.models import Verification
from registry.models import MODEL_BY_SECTION, REPEATING_SECTIONS, Patient, User

FULLY_VERIFIED = ("NGH", "RVH")
HALF_VERIFIED = ("LCC",)


class Command(BaseCommand):
    help = "Verify the demo's critical values at two and a half centres; require SDV to lock."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if Verification.objects.exists():
            self.stdout.write("Demo source verification: present already, none added.")
        else:
            self._verify(User.objects.get(username="datamanager"))
        verifications.study_settings_update(lock_requires_sdv=True)
        progress = verifications.critical_progress(User.objects.get(username="datamanager"))
        self.stdout.write(
            "Demo source verification (critical values verified): "
            + ", ".join(f"{p.center} {p.percent or 0:g} %" for p in progress)
            + "; locking requires complete SDV."
        )

    def _verify(self, manager: User) -> None:
        sections = sorted({section for section, _field in verifications.critical_fields()})
        patients = []
        for code in (*FULLY_VERIFIED, *HALF_VERIFIED):
            centre = list(Patient.objects.filter(center__code=code).order_by("sequence"))
            patients += centre if code in FULLY_VERIFIED else centre[: (len(centre) + 1) // 2]
        for patient in patients:
            for section in sections:
                model = MODEL_BY_SECTION[section]
                if model is Patient:
                    record_ids = [None]
                elif section in REPEATING_SECTIONS:
                    record_ids = list(
                        model.objects.filter(patient=patient).values_list("pk", flat=True)
                    )
                else:
                    record_ids = [None] if model.objects.filter(patient=patient).exists() else []
                for record_id in record_ids:
                    # The whole part or record: what a monitor ticks after checking the chart.
                    verifications.verification_mark(
                        user=manager, patient=patient, section=section, record_id=record_id
                    )
