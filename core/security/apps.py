from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "core.security"
    label = "security"
    verbose_name = "Security"

    def ready(self) -> None:
        from core.security import signals  # noqa: F401 - connects the login log receivers
