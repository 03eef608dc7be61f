"""Data-cut endpoints: list, freeze, one cut, its reproduction kit.

Reads go through ``publication.selectors``, writes through ``publication.services``. Who may
use them is the dashboard's rule (PI, data manager, admin); site staff get 403, as on the
analysis endpoints (the pages answer 404).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core import permissions
from core.api.idempotency import idempotent
from core.api.pagination import NewestFirstPagination
from core.api.views import ApiView, ZipDownloadView, valid
from core.errors import ApplicationError, ErrorCode
from publication import kit, selectors, services
from publication.api import serializers as s

TAGS = ["data cuts"]
CUT_ID = OpenApiParameter("cut_id", int, OpenApiParameter.PATH, description="Data cut id.")


class _CutView(ApiView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not hasattr(self, request.method.lower()):
            return  # dispatch answers 405 whoever asks
        if not permissions.can_use_data_cuts(request.user):
            raise ApplicationError(
                _("Data cuts are for PIs, data managers and administrators."),
                code=ErrorCode.FORBIDDEN,
            )

    def cut(self, request, cut_id: int):
        cut = selectors.cut_get(request.user, cut_id)
        if cut is None:
            raise ApplicationError(_("No such data cut."), code=ErrorCode.NOT_FOUND)
        return cut


class DataCutListView(_CutView, GenericAPIView):
    pagination_class = NewestFirstPagination
    serializer_class = s.DataCutOutput  # for OPTIONS (DRF's metadata asks for one)
    query_params = frozenset({"cursor", "page_size"})

    def get_queryset(self):
        return selectors.cut_list(self.request.user)

    @extend_schema(
        tags=TAGS,
        responses=s.DataCutOutput(many=True),
        summary="Named data cuts, newest first (cursor-paginated; no bundles)",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.DataCutOutput(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=s.DataCutInput,
        responses={201: s.DataCutDetailOutput},
        summary="Freeze the current locked data, plan and engine version as a named cut",
    )
    @idempotent
    def post(self, request):
        data = valid(s.DataCutInput, request.data)
        cut = services.cut_freeze(user=request.user, name=data["name"], note=data.get("note", ""))
        return Response(s.DataCutDetailOutput(cut).data, status=status.HTTP_201_CREATED)


class DataCutDetailView(_CutView):
    @extend_schema(
        tags=TAGS,
        parameters=[CUT_ID],
        responses=s.DataCutDetailOutput,
        summary="One data cut, with its plan, bundle and locked casebooks",
    )
    def get(self, request, cut_id: int):
        return Response(s.DataCutDetailOutput(self.cut(request, cut_id)).data)


class DataCutKitView(ZipDownloadView, _CutView):
    @extend_schema(
        tags=TAGS,
        parameters=[CUT_ID],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The reproduction kit: de-identified data, plan, reproduce.R, "
                "expected numbers and a README (as an attachment).",
            )
        },
        summary="Download a cut's reproduction kit (audited)",
    )
    def get(self, request, cut_id: int):
        cut = self.cut(request, cut_id)
        services.cut_download_audit(user=request.user, cut=cut, what="kit.zip")
        response = HttpResponse(kit.kit_zip(cut), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="data-cut-{cut.pk}-kit.zip"'
        return response
