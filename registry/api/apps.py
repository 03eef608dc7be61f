from django.apps import AppConfig


class RegistryApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "registry.api"
    # A label of its own, so the API's tables and migrations never collide with registry's.
    label = "registry_api"
    verbose_name = "REST API"
