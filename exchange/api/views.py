"""Export endpoints: request an export job, poll it, download its ZIP.

All through ``exchange.services``, as the export page: the same scope and
permission rules, and the same audit (requests, refusals and downloads are AuditEvents).
A job is its owner's: anyone else gets 404, as on the page.
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.pagination import NewestFirstPagination
from core.api.serializers import ErrorResponseSerializer
from core.api.views import ApiView, ZipDownloadView, valid
from core.errors import ApplicationError, ErrorCode
from exchange import services
from exchange.api import serializers as s
from exchange.models import ExportJob

TAGS = ["exports"]
EXPORT_ID = OpenApiParameter("export_id", int, OpenApiParameter.PATH, description="Export id.")


class ExportCollectionView(ApiView, GenericAPIView):
    pagination_class = NewestFirstPagination
    # OPTIONS describes the POST body from it (without one, OPTIONS was a 500: schemathesis).
    serializer_class = s.ExportCreateInput
    # Every option has a default, but a POST without any body is more likely a client bug
    # than a wish for the defaults: {} says so explicitly (schemathesis flagged the empty POST).
    request_body_required = True

    def allowed_query_params(self) -> frozenset[str]:
        return frozenset({"cursor", "page_size"}) if self.request.method == "GET" else frozenset()

    @extend_schema(
        tags=TAGS,
        responses=s.ExportJobOutput(many=True),
        summary="Your exports, newest first (cursor-paginated)",
    )
    def get(self, request):
        jobs = ExportJob.objects.filter(created_by=request.user)
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(s.ExportJobOutput(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=s.ExportCreateInput,
        responses={202: s.ExportJobOutput},
        summary="Request an export (queued; poll its status, then download the ZIP)",
    )
    @idempotent
    def post(self, request):
        if not request.body.strip():
            message = _("Send the export's options as a JSON object ({} for the defaults).")
            raise ApplicationError(message, code=ErrorCode.INVALID, fields={"__all__": [message]})
        data = valid(s.ExportCreateInput, request.data)
        job = services.export_request(
            user=request.user,
            centers=data.get("centers") or None,
            locked_only=data["locked_only"],
            formats=["csv", *data.get("formats", [])],
            identified=data["identified"],
            reason=data["reason"],
            date_mode=data["date_mode"],
            recipient=data["recipient"],
            coarsen_centers=data["coarsen_centers"],
        )
        job.refresh_from_db()  # an eager worker may have finished it already
        location = f"{request.path}{job.pk}/"
        return Response(
            s.ExportJobOutput(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


def _own_job(request, export_id: int) -> ExportJob:
    job = ExportJob.objects.filter(pk=export_id, created_by=request.user).first()
    if job is None:
        raise ApplicationError(_("No such export."), code=ErrorCode.NOT_FOUND)
    return job


class ExportDetailView(ApiView):
    @extend_schema(
        tags=TAGS,
        responses=s.ExportJobOutput,
        parameters=[EXPORT_ID],
        summary="One of your exports: status (poll this), counts, link expiry",
    )
    def get(self, request, export_id: int):
        return Response(s.ExportJobOutput(_own_job(request, export_id)).data)


class ExportDownloadView(ZipDownloadView):
    @extend_schema(
        tags=TAGS,
        parameters=[EXPORT_ID],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The export's ZIP (as an attachment)."
            ),
            410: OpenApiResponse(
                ErrorResponseSerializer,
                description="The download link expired: run the export again.",
            ),
        },
        summary="Download your finished export's ZIP (audited)",
    )
    def get(self, request, export_id: int):
        try:
            job = services.export_download(user=request.user, job_id=export_id)
        except ApplicationError as error:
            if error.code == ErrorCode.EXPIRED:
                raise ApplicationError(error.message, code=ErrorCode.EXPIRED) from None
            raise
        return FileResponse(
            open(job.file_path, "rb"),  # noqa: SIM115 - FileResponse closes it
            as_attachment=True,
            filename=job.file_name,
            content_type="application/zip",
        )
