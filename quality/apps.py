from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "quality"
    verbose_name = _("Data management")

    def ready(self) -> None:
        from quality import notifications, selectors, tasks, verifications
        from registry import signals

        # A casebook with open queries cannot be signed or locked.
        signals.casebook_lock_blockers.connect(
            selectors.lock_blockers, dispatch_uid="quality.lock_blockers"
        )
        # Nor, when the study requires it, one whose critical values are not all verified.
        signals.casebook_lock_blockers.connect(
            verifications.lock_blockers, dispatch_uid="quality.sdv_lock_blockers"
        )
        # A verified value that changes is no longer verified.
        signals.casebook_changed.connect(
            verifications.drop_on_change, dispatch_uid="quality.sdv_drop_on_change"
        )
        # A saved casebook is checked against the data-quality rules at once (one patient).
        signals.casebook_saved.connect(
            tasks.queue_rules_for_saved_casebook, dispatch_uid="quality.run_rules"
        )
        # A casebook marked complete is ready to sign: its centre's investigators are told.
        signals.casebook_completed.connect(
            notifications.notify_ready_to_sign, dispatch_uid="quality.notify_ready_to_sign"
        )
        # Signed and locked: its "ready to sign" notifications are done.
        signals.casebook_locked.connect(
            notifications.clear_ready_to_sign, dispatch_uid="quality.clear_ready_to_sign"
        )
