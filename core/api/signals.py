"""Changes that must reach every process's next API request: a token, its owner or the
owner's centre saved or deleted drops the tokens' cached owners (core/api/authentication.py).

Connected by CoreApiConfig.ready(). The user model and its centre are found through
settings (AUTH_USER_MODEL and its ``center`` field), not imported: core sits below registry.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from core.api.authentication import forget_tokens
from core.api.models import ApiToken


def _token_changed(sender, instance: ApiToken, created: bool = False, **kwargs) -> None:
    if created:
        return  # nothing cached yet
    forget_tokens([instance.key_hash])


def _user_changed(sender, instance, created: bool = False, **kwargs) -> None:
    if created:
        return
    # Role, centre, active flag, staff flags… any saved change counts from the next request.
    forget_tokens(ApiToken.objects.filter(user_id=instance.pk).values_list("key_hash", flat=True))


def _center_changed(sender, instance, **kwargs) -> None:
    forget_tokens(
        ApiToken.objects.filter(user__center_id=instance.pk).values_list("key_hash", flat=True)
    )


def connect() -> None:
    user_model = get_user_model()
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_token_changed, sender=ApiToken, dispatch_uid=f"api_token_{name}")
        signal.connect(_user_changed, sender=user_model, dispatch_uid=f"api_token_user_{name}")
    center_field = next((f for f in user_model._meta.fields if f.name == "center"), None)
    if center_field is not None:
        post_save.connect(
            _center_changed, sender=center_field.related_model, dispatch_uid="api_token_center"
        )
