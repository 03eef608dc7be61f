"""Query endpoints: list and raise queries, read one with its thread, answer, close, re-open.

Rows are reached only through ``quality.selectors`` (a query is its patient's: another
centre's query is 404 everywhere, as its patient is) and written only through
``quality.services``, which hold the role rules (data managers raise, close and re-open;
the patient's site staff answer) and send a correction through the registry's own save,
so a locked casebook is 409 and a stale version 412 exactly as in a PATCH of the part.
"""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.pagination import NewestFirstPagination
from core.api.views import ApiView, valid
from quality import notifications, services, verifications, work
from quality.api import serializers as s
from quality.api.filters import QueryFilter
from quality.models import QueryMessage
from quality.selectors import queries_visible_to, query_get_for
from registry.api.views import STUDY_ID, PatientApiView

TAGS = ["queries"]
QUERY_ID = OpenApiParameter("query_id", int, OpenApiParameter.PATH, description="Query id.")
# The thread with its authors in one query, whatever the number of queries on a page.
_THREAD = Prefetch("messages", queryset=QueryMessage.objects.select_related("author"))


def _render(request, query_id: int, code: int = status.HTTP_200_OK, headers=None) -> Response:
    """The query as the user sees it now (after a write: its new state and thread)."""
    query = query_get_for(request.user, query_id)
    prefetch_related_objects([query], _THREAD)
    return Response(s.QueryOutput(query).data, status=code, headers=headers)


class QueryCollectionView(PatientApiView, GenericAPIView):
    """The queries of the patients you may see; a new one names its patient by study id."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = QueryFilter
    pagination_class = NewestFirstPagination
    # OPTIONS describes the POST body from it (DRF's metadata asks for one).
    serializer_class = s.QueryCreateInput

    def allowed_query_params(self) -> frozenset[str]:
        if self.request.method != "GET":
            return frozenset()
        pagination = {"cursor", NewestFirstPagination.page_size_query_param}
        return frozenset(QueryFilter.base_filters) | pagination

    def get_queryset(self):
        return queries_visible_to(self.request.user).prefetch_related(_THREAD)

    @extend_schema(
        tags=TAGS,
        responses=s.QueryOutput(many=True),
        summary="Queries you may see, with their threads (cursor-paginated, newest first)",
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.QueryOutput(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=s.QueryCreateInput,
        responses={201: s.QueryOutput},
        summary="Raise a query on a field, a part or a casebook (data manager)",
    )
    @idempotent
    def post(self, request):
        data = valid(s.QueryCreateInput, request.data)
        query = services.query_raise(
            user=request.user,
            patient=self.patient(data["patient"]),
            text=data["text"],
            section=data.get("section", ""),
            record_id=data.get("record"),
            field=data.get("field", ""),
        )
        location = reverse("api:query-detail", args=[query.pk])
        return _render(request, query.pk, status.HTTP_201_CREATED, {"Location": location})


class QueryDetailView(ApiView):
    @extend_schema(
        tags=TAGS,
        responses=s.QueryOutput,
        parameters=[QUERY_ID],
        summary="One query with its thread (raise, answers, corrections, close, re-open)",
    )
    def get(self, request, query_id: int):
        return _render(request, query_id)


class QueryAnswerView(ApiView):
    @extend_schema(
        tags=TAGS,
        request=s.QueryAnswerInput,
        responses={201: s.QueryOutput},
        parameters=[QUERY_ID],
        summary="Answer an open query, optionally correcting its field (the patient's site staff)",
    )
    @idempotent
    def post(self, request, query_id: int):
        # The query first: another centre's is 404 before its body is looked at, and its
        # part says how the corrected value is typed.
        query = query_get_for(request.user, query_id)
        data = valid(s.QueryAnswerInput, request.data, context={"query": query})
        correction = data.get("correction")
        services.query_answer(
            user=request.user,
            query_id=query.pk,
            text=data.get("text", ""),
            correct=correction is not None,
            value=correction["value"] if correction else None,
            expected_version=correction["version"] if correction else None,
        )
        return _render(request, query.pk, status.HTTP_201_CREATED)


class QueryCloseView(ApiView):
    @extend_schema(
        tags=TAGS,
        request=s.QueryCloseInput,
        responses=s.QueryOutput,
        parameters=[QUERY_ID],
        summary="Close an open or answered query (data manager)",
    )
    @idempotent
    def post(self, request, query_id: int):
        query = query_get_for(request.user, query_id)  # another centre's: 404, whatever the body
        data = valid(s.QueryCloseInput, request.data)
        services.query_close(user=request.user, query_id=query.pk, text=data.get("text", ""))
        return _render(request, query.pk)


class QueryReopenView(ApiView):
    @extend_schema(
        tags=TAGS,
        request=s.QueryReopenInput,
        responses=s.QueryOutput,
        parameters=[QUERY_ID],
        summary="Re-open an answered or closed query, saying why (data manager)",
    )
    @idempotent
    def post(self, request, query_id: int):
        query = query_get_for(request.user, query_id)  # another centre's: 404, whatever the body
        data = valid(s.QueryReopenInput, request.data)
        services.query_reopen(user=request.user, query_id=query.pk, text=data["text"])
        return _render(request, query.pk)


# -- source data verification ---------------------------------------------------------------

SDV_TAGS = ["verification"]


class VerificationCollectionView(PatientApiView):
    """One casebook's source verifications (valid and dropped); a data manager adds more."""

    @extend_schema(
        tags=SDV_TAGS,
        parameters=[STUDY_ID],
        responses=s.VerificationOutput(many=True),
        summary="Source verifications of one casebook, newest first (dropped ones included)",
    )
    def get(self, request, study_id: str):
        patient = self.patient(study_id)
        rows = verifications.patient_verifications(request.user, patient)
        return Response(s.VerificationOutput(rows, many=True).data)

    @extend_schema(
        tags=SDV_TAGS,
        parameters=[STUDY_ID],
        request=s.VerificationCreateInput,
        responses={201: s.VerificationOutput(many=True)},
        summary="Mark fields, or a whole part or record, as verified against source (data manager)",
    )
    @idempotent
    def post(self, request, study_id: str):
        patient = self.patient(study_id)  # another centre's: 404 before the body is read
        data = valid(s.VerificationCreateInput, request.data)
        rows = verifications.verification_mark(
            user=request.user,
            patient=patient,
            section=data["section"],
            record_id=data.get("record"),
            fields=data.get("fields") or None,
        )
        return Response(s.VerificationOutput(rows, many=True).data, status=status.HTTP_201_CREATED)


class MyWorkView(ApiView):
    @extend_schema(
        tags=["my-work"],
        responses=s.MyWorkOutput,
        summary="Your task lists and their counts (by role, scoped to the centres you see)",
    )
    def get(self, request):
        counts = work.work_counts(request.user)
        page = reverse("quality:my_work")
        body = {
            "lists": [
                {
                    "key": w.key,
                    "title": str(w.title),
                    "count": counts[w.key],
                    "url": f"{page}?list={w.key}",
                }
                for w in work.work_lists_for(request.user)
            ],
            "unread_notifications": notifications.unread_count(request.user),
        }
        return Response(s.MyWorkOutput(body).data)
