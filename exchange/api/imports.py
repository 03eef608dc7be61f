"""Import endpoints: upload a file (a job with its preview), read the preview, confirm.

All through ``exchange.imports.services``, as the import page and the command: the same
role and centre rules. A job is its owner's: anyone else gets 404, as on the page.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.pagination import NewestFirstPagination
from core.api.views import ApiView, valid
from exchange.api import serializers as s
from exchange.imports import services
from exchange.models import ImportJob

TAGS = ["imports"]
IMPORT_ID = OpenApiParameter("import_id", int, OpenApiParameter.PATH, description="Import id.")


class ImportCollectionView(ApiView, GenericAPIView):
    pagination_class = NewestFirstPagination
    serializer_class = s.ImportCreateInput
    parser_classes = [MultiPartParser]
    request_body_required = True

    def allowed_query_params(self) -> frozenset[str]:
        return frozenset({"cursor", "page_size"}) if self.request.method == "GET" else frozenset()

    @extend_schema(
        tags=TAGS,
        responses=s.ImportJobOutput(many=True),
        summary="Your imports, newest first (cursor-paginated)",
    )
    def get(self, request):
        jobs = ImportJob.objects.filter(created_by=request.user).select_related("center")
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(s.ImportJobOutput(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request={"multipart/form-data": s.ImportCreateInput},
        responses={202: s.ImportJobOutput},
        summary="Upload a file to import: a job whose preview lists every problem and change "
        "(nothing is written until you commit it)",
    )
    @idempotent
    def post(self, request):
        data = valid(s.ImportCreateInput, request.data)
        upload = data["file"]
        job = services.import_request(
            user=request.user,
            file=upload,
            file_name=upload.name,
            file_format=data.get("format") or None,
            center=data["center"] or None,
            skip_invalid_patients=data["skip_invalid_patients"],
        )
        job.refresh_from_db()  # an eager worker may have previewed it already
        return Response(
            s.ImportJobOutput(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"{request.path}{job.pk}/"},
        )


class ImportDetailView(ApiView):
    @extend_schema(
        tags=TAGS,
        responses=s.ImportJobOutput,
        parameters=[IMPORT_ID],
        summary="One of your imports: status and progress (poll this), its preview",
    )
    def get(self, request, import_id: int):
        return Response(
            s.ImportJobOutput(services.import_get(user=request.user, job_id=import_id)).data
        )


class ImportCommitView(ApiView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={202: s.ImportJobOutput},
        parameters=[IMPORT_ID],
        summary="Confirm a previewed import: it is written in one transaction (queued)",
    )
    @idempotent
    def post(self, request, import_id: int):
        job = services.import_commit_request(user=request.user, job_id=import_id)
        job.refresh_from_db()
        return Response(s.ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)
