"""Analysis endpoints: the plan, the runs and the latest bundle (the PI dashboard over HTTP).

Reads go through ``analytics.selectors``, writes through ``analytics.services`` (the plan
form's validation by the engine, the dashboard's "Recompute now"). Who may see them is the
dashboard's rule (``core.permissions.can_see_dashboard``: PI, data manager, admin).
Site staff get 403:
the pages answer 404 to hide a study-wide page, but the API's operations are listed in its
schema anyway, and the API answers a role's refusal with 403 everywhere else.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from analytics import selectors, services
from analytics.api import serializers as s
from analytics.models import AnalysisRun
from core import permissions
from core.api.idempotency import idempotent
from core.api.pagination import NewestFirstPagination
from core.api.views import ApiView, valid
from core.errors import ApplicationError, ErrorCode

TAGS = ["analysis"]
RUN_ID = OpenApiParameter("run_id", int, OpenApiParameter.PATH, description="Run id.")


class _AnalysisView(ApiView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not hasattr(self, request.method.lower()):
            return  # dispatch answers 405 whoever asks (schemathesis found 403 here)
        if not permissions.can_see_dashboard(request.user):
            raise ApplicationError(
                _(
                    "The analysis is for PIs, data managers and administrators; site staff "
                    "see their centre's enrolment on the dashboard page."
                ),
                code=ErrorCode.FORBIDDEN,
            )


def _run_queryset():
    return AnalysisRun.objects.select_related("plan", "triggered_by", "reused_from", "final_by")


class AnalysisPlanView(_AnalysisView):
    @extend_schema(tags=TAGS, responses=s.AnalysisPlanOutput, summary="The current analysis plan")
    def get(self, request):
        plan = services.plan_current()
        if plan is None:
            raise ApplicationError(_("There is no analysis plan yet."), code=ErrorCode.NOT_FOUND)
        return Response(s.AnalysisPlanOutput(plan).data)

    @extend_schema(
        tags=TAGS,
        request=s.AnalysisPlanInput,
        responses={201: s.AnalysisPlanOutput},
        summary="Save a new plan version (PI, admin); validated by the engine, queues a run",
    )
    @idempotent
    def post(self, request):
        data = valid(s.AnalysisPlanInput, request.data)
        plan = services.plan_create(user=request.user, plan=data["plan"], note=data.get("note", ""))
        return Response(s.AnalysisPlanOutput(plan).data, status=status.HTTP_201_CREATED)


class AnalysisRunListView(_AnalysisView, GenericAPIView):
    pagination_class = NewestFirstPagination
    serializer_class = s.AnalysisRunOutput  # for OPTIONS (DRF's metadata asks for one)
    query_params = frozenset({"cursor", "page_size"})

    def get_queryset(self):
        return _run_queryset().defer("bundle")

    @extend_schema(
        tags=TAGS,
        responses=s.AnalysisRunOutput(many=True),
        summary="Analysis runs, newest first (cursor-paginated; no bundles)",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AnalysisRunOutput(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=None,
        responses={202: s.AnalysisRunOutput},
        summary="Recompute now: queue a run (or join the one already waiting)",
    )
    @idempotent
    def post(self, request):
        run = services.run_start_manual(user=request.user)
        if run is None:
            raise ApplicationError(
                _("There is no analysis plan yet: a PI must save one first."),
                code=ErrorCode.NO_PLAN,
            )
        run = _run_queryset().defer("bundle").get(pk=run.pk)
        return Response(s.AnalysisRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class AnalysisRunDetailView(_AnalysisView):
    @extend_schema(
        tags=TAGS,
        responses=s.AnalysisRunDetailOutput,
        parameters=[RUN_ID],
        summary="One run, with its result bundle",
    )
    def get(self, request, run_id: int):
        run = _run_queryset().filter(pk=run_id).first()
        if run is None:
            raise ApplicationError(_("No such analysis run."), code=ErrorCode.NOT_FOUND)
        return Response(s.AnalysisRunDetailOutput(run).data)


class AnalysisRunFinalView(_AnalysisView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses=s.AnalysisRunOutput,
        parameters=[RUN_ID],
        summary="Mark a finished run final (PI, admin); refused while a locked casebook has an "
        "unresolved data query",
    )
    @idempotent
    def post(self, request, run_id: int):
        run = services.run_mark_final(user=request.user, run_id=run_id)
        run = _run_queryset().defer("bundle").get(pk=run.pk)
        return Response(s.AnalysisRunOutput(run).data)


class AnalysisLatestView(_AnalysisView):
    @extend_schema(
        tags=TAGS,
        responses=s.AnalysisLatestOutput,
        summary="The latest finished run and its bundle (what the dashboard shows)",
    )
    def get(self, request):
        run = selectors.run_latest_done()
        if run is None or not run.result:
            raise ApplicationError(_("No analysis run has finished yet."), code=ErrorCode.NOT_FOUND)
        run.changes = selectors.changes_since(run, selectors.run_previous_done(run))
        return Response(s.AnalysisLatestOutput(run).data)
