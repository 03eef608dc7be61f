"""``manage.py seed_analysis_plan``: make the reference plan current (idempotent)."""

from django.core.management.base import BaseCommand

from analytics.services import plan_seed_demo


class Command(BaseCommand):
    help = "Save the reference study's analysis plan as the current plan, unless it already is."

    def handle(self, *args, **options) -> None:
        plan = plan_seed_demo()
        self.stdout.write(f"analysis plan v{plan.version} is current ({plan.plan_sha256[:12]})")
