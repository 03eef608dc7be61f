"""Server-rendered pages of the API: the personal token page, the throttled login page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.api import tokens as api_services
from core.api.models import ApiToken
from core.api.throttling import LoginThrottle, TokenCreateThrottle
from core.errors import ApplicationError


def _throttled(throttle, request: HttpRequest) -> bool:
    return not throttle.allow_request(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def token_page(request: HttpRequest) -> HttpResponse:
    secret = None
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and "revoke" in request.POST:
        try:
            token_id = int(request.POST["revoke"])
            token = api_services.token_revoke(user=request.user, token_id=token_id)
        except (ValueError, ApplicationError):
            messages.error(request, _("No such token."))
        else:
            messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("api-tokens")
    if request.method == "POST":
        if _throttled(TokenCreateThrottle(), request):
            return HttpResponse(_("Too many tokens created; try again later."), status=429)
        days_raw = request.POST.get("days", "").strip()
        try:
            days = int(days_raw) if days_raw else None
        except ValueError:
            errors["days"] = [_("Enter a whole number of days.")]
        if not errors:
            try:
                token, secret = api_services.token_create(
                    user=request.user, name=request.POST.get("name", ""), days=days
                )
            except ApplicationError as error:
                errors = error.fields or {"__all__": [error.message]}
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "core/tokens.html",
        {
            "tokens": tokens,
            "secret": secret,
            "errors": errors,
            # Templates cannot read keys that start with an underscore.
            "general_errors": errors.get("__all__", []),
            "form": request.POST,
        },
        status=400 if errors else 200,
    )


class ThrottledLoginView(auth_views.LoginView):
    """The login page, with password attempts per address limited like the token endpoint."""

    def post(self, request, *args, **kwargs):
        if _throttled(LoginThrottle(), request):
            return HttpResponse(
                _("Too many login attempts from this address; wait a minute."), status=429
            )
        return super().post(request, *args, **kwargs)
