"""API base views: the OpenAPI document, the strict base view, and personal tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import serializers as s
from core.api import tokens as api_services
from core.api.idempotency import idempotent
from core.api.models import ApiToken
from core.api.throttling import LoginThrottle, TokenCreateThrottle
from core.errors import ApplicationError, ErrorCode
from core.security.two_factor import second_factor_check


def valid(serializer_class, data, **kwargs) -> dict:
    """The validated data of ``data``; invalid input raises DRF's ValidationError (400)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document; its refusals (401) in the API's JSON error shape, not as YAML."""

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


class ApiView(APIView):
    # Query parameters a view understands; any other is refused, so that a typo such as
    # ?centre=BJ is an error instead of silently returning every patient.
    query_params: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not hasattr(self, request.method.lower()):
            return  # dispatch answers 405; the query string does not matter then
        repeated = sorted(k for k, v in request.query_params.lists() if len(v) > 1)
        if repeated:
            raise ApplicationError(
                _("%(name)s: give this query parameter once.") % {"name": repeated[0]},
                code=ErrorCode.INVALID,
                fields={name: [_("Give this query parameter once.")] for name in repeated},
            )
        blank = sorted(k for k, v in request.query_params.items() if not v.strip())
        if blank:
            raise ApplicationError(
                _("%(name)s: give a value or leave the parameter out.") % {"name": blank[0]},
                code=ErrorCode.INVALID,
                fields={name: [_("Give a value or leave the parameter out.")] for name in blank},
            )
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        if unknown:
            raise ApplicationError(
                _("%(name)s: unknown query parameter.") % {"name": unknown[0]},
                code=ErrorCode.INVALID,
                fields={name: [_("Unknown query parameter.")] for name in unknown},
            )

    def allowed_query_params(self) -> frozenset[str]:
        return self.query_params


# -- tokens -----------------------------------------------------------------------------------


class TokenObtainView(ApiView):
    """Username and password → a new personal token (for scripts). Rate-limited per address."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=s.TokenObtainInput,
        responses={201: s.TokenCreatedOutput},
        summary="Get a token with username and password",
        auth=[],
    )
    def post(self, request):
        data = valid(s.TokenObtainInput, request.data)
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            raise ApplicationError(
                _("Username or password is not correct."),
                code=ErrorCode.AUTHENTICATION_FAILED,
            )
        # A password alone must not get around the second factor the pages require.
        second_factor_check(request._request, user, data.get("otp", ""))
        token, secret = api_services.token_create(
            user=user, name=data["name"], days=data.get("days")
        )
        token.token = secret
        return Response(s.TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenListView(ApiView):
    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(TokenCreateThrottle())
        return throttles

    @extend_schema(responses=s.TokenOutput(many=True), summary="Your tokens")
    def get(self, request):
        return Response(s.TokenOutput(ApiToken.objects.filter(user=request.user), many=True).data)

    @extend_schema(
        request=s.TokenCreateInput,
        responses={201: s.TokenCreatedOutput},
        summary="Create a token (the secret is in this answer only)",
    )
    @idempotent(secret_fields=("token",))
    def post(self, request):
        data = valid(s.TokenCreateInput, request.data)
        token, secret = api_services.token_create(
            user=request.user, name=data["name"], days=data.get("days")
        )
        token.token = secret
        return Response(s.TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(ApiView):
    @extend_schema(
        responses={204: None},
        parameters=[OpenApiParameter("token_id", int, OpenApiParameter.PATH)],
        summary="Revoke one of your tokens",
    )
    def delete(self, request, token_id: int):
        api_services.token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ZipRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/zip``; the view answers the ZIP itself
    (a FileResponse or HttpResponse), so there is nothing to render."""

    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class ZipDownloadView(ApiView):
    """An operation whose answer is a ZIP file (an export, a reproduction kit)."""

    renderer_classes = [JSONRenderer, ZipRenderer]
    # DRF's ?format= override (listed in the schema because there are two renderers).
    query_params = frozenset({"format"})

    def handle_exception(self, exc):
        # Errors are JSON in the one error shape, even when the client accepted only the ZIP.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)
