from django.apps import AppConfig


class PublicationConfig(AppConfig):
    """The manuscript's tables, figures and named data cuts, taken from locked data.

    It sits above exchange because a cut's reproduction kit carries the de-identified
    analysis dataset that exchange writes.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "publication"
    verbose_name = "Publication (data cuts, tables and figures)"
