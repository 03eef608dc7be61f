from django.apps import AppConfig


class QualityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "quality"
    verbose_name = "Data management"

    def ready(self) -> None:
        # A casebook with open queries cannot be signed or locked.
        from quality import selectors, tasks
        from registry import signals

        signals.casebook_lock_blockers.connect(
            selectors.lock_blockers, dispatch_uid="quality.lock_blockers"
        )
        # A saved casebook is checked against the data-quality rules at once (one patient).
        signals.casebook_changed.connect(
            tasks.queue_rules_for_saved_casebook, dispatch_uid="quality.run_rules"
        )
