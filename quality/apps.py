from django.apps import AppConfig


class QualityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "quality"
    verbose_name = "Data management"

    def ready(self) -> None:
        # A casebook with open queries cannot be signed or locked.
        from quality import selectors
        from registry import signals

        signals.casebook_lock_blockers.connect(
            selectors.lock_blockers, dispatch_uid="quality.lock_blockers"
        )
