from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = "Analyses"

    def ready(self) -> None:
        # Locks and unlocks queue a recomputation; the registry only sends the signals.
        from analytics import services
        from registry import signals

        signals.casebook_locked.connect(
            services.on_casebook_locked, dispatch_uid="analytics.on_casebook_locked"
        )
        signals.casebook_unlocked.connect(
            services.on_casebook_unlocked, dispatch_uid="analytics.on_casebook_unlocked"
        )
        # In the lock's own transaction: the stored analysis rows follow the lock (issue 16).
        signals.casebook_lock_changed.connect(
            services.on_casebook_lock_changed, dispatch_uid="analytics.on_casebook_lock_changed"
        )
