from django.apps import AppConfig


class CoreApiConfig(AppConfig):
    """API base pieces with tables: personal tokens and remembered idempotent answers.

    The label is the one this app had when it lived in ``registry/api``: a label names the
    tables (``registry_api_apitoken``), the migration history and the content types of a
    deployed database, and Django cannot rename it in place; the code moved, they did not.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "core.api"
    label = "registry_api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from core.api import signals

        signals.connect()
