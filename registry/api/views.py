"""API views: parse input, call a selector or a service, render output. Nothing else.

Patient rows are reached only through ``registry.selectors`` (another centre's
patient is 404 everywhere) and written only through ``registry.services`` (the
pages' validation, audit, permission and lock rules), with ``request.user`` —
the token's owner — as the acting user.
"""

from __future__ import annotations

from django.db.models import Model
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core import permissions
from core.api.idempotency import idempotent
from core.api.pagination import PatientCursorPagination
from core.api.schema import IF_MATCH
from core.api.throttling import (
    PasswordReentryThrottle,
)
from core.api.views import ApiView, valid
from core.errors import ApplicationError, ErrorCode, field_error
from registry import choices as c
from registry import services
from registry.api import serializers as s
from registry.api.filters import PatientFilter
from registry.casebook import load_casebook
from registry.models import (
    AdverseEvent,
    Baseline,
    Center,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    Signature,
    TumourAssessment,
)
from registry.selectors import patient_get_for, patient_history, patients_visible_to

STUDY_ID = OpenApiParameter(
    "study_id", str, OpenApiParameter.PATH, description="Study id, e.g. BJ-0042."
)
RECORD_ID = OpenApiParameter("record_id", int, OpenApiParameter.PATH, description="Record id.")


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected_version(request: Request, body_version: int | None) -> int:
    """The version the client read: ``version`` in the body/query or the If-Match header."""
    header = request.headers.get("If-Match")
    header_version = None
    if header:
        raw = header.strip().removeprefix("W/").strip('"')
        try:
            header_version = int(raw)
        except ValueError:
            raise ApplicationError(
                'If-Match: give the version as in the ETag, e.g. "3".',
                code=ErrorCode.INVALID,
                fields={"If-Match": ['Give the version as in the ETag, e.g. "3".']},
            ) from None
    if body_version is not None and header_version is not None and body_version != header_version:
        raise ApplicationError(
            "version: the body and If-Match name different versions.",
            code=ErrorCode.INVALID,
            fields={"version": ["The body and If-Match name different versions."]},
        )
    version = body_version if body_version is not None else header_version
    if version is None:
        message = "Send the version you read (field 'version' or an If-Match header)."
        raise field_error("version", message)
    return version


class PatientApiView(ApiView):
    """A view about one patient: reached through the centre scope, identifiers masked."""

    def patient(self, study_id: str) -> Patient:
        return patient_get_for(self.request.user, study_id)

    def context_for(self, patient: Patient) -> dict:
        return {"identifiers": permissions.can_see_identifiers(self.request.user, patient)}


# -- who am I, centres ------------------------------------------------------------------------


class MeView(ApiView):
    @extend_schema(responses=s.MeOutput, summary="The signed-in user, with role and centre")
    def get(self, request):
        return Response(s.MeOutput(request.user).data)


class CenterListView(ApiView):
    @extend_schema(responses=s.CenterOutput(many=True), summary="All centres of the study")
    def get(self, request):
        return Response(s.CenterOutput(Center.objects.order_by("code"), many=True).data)


class CenterDetailView(ApiView):
    @extend_schema(
        responses=s.CenterOutput,
        parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH)],
        summary="One centre",
    )
    def get(self, request, code: str):
        center = Center.objects.filter(code=code).first()
        if center is None:
            raise ApplicationError("No such centre.", code=ErrorCode.NOT_FOUND)
        return Response(s.CenterOutput(center).data)


# -- patients ---------------------------------------------------------------------------------


class PatientCollectionView(PatientApiView, GenericAPIView):
    filter_backends = [DjangoFilterBackend]
    filterset_class = PatientFilter
    pagination_class = PatientCursorPagination
    serializer_class = s.PatientListOutput

    def allowed_query_params(self) -> frozenset[str]:
        pagination = {"cursor", PatientCursorPagination.page_size_query_param}
        return frozenset(PatientFilter.base_filters) | pagination

    def get_queryset(self):
        return patients_visible_to(self.request.user).only(*s.PatientListOutput.columns)

    def filter_queryset(self, queryset):
        # Without any filter parameter django-filter would build and validate an empty form
        # (a tenth of a plain list request's CPU) to change nothing.
        if PatientFilter.base_filters.keys().isdisjoint(self.request.query_params):
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(
        responses=s.PatientListOutput(many=True),
        summary="Patients you may see (cursor-paginated, newest first)",
    )
    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.PatientListOutput(page, many=True).data)

    @extend_schema(
        request=s.PatientRegisterInput,
        responses={201: s.RegistrationOutput},
        summary="Register a screened patient (ineligible → screen failure)",
    )
    @idempotent
    def post(self, request):
        data = valid(s.PatientRegisterInput, request.data)
        center = data.pop("center", None)
        patient = services.patient_register(user=request.user, center=center, data=data)
        body = s.RegistrationOutput(patient, context=self.context_for(patient)).data
        location = reverse("api:patient-detail", args=[patient.study_id])
        return Response(body, status=201, headers={"Location": location})


class PatientDetailView(PatientApiView):
    @extend_schema(
        responses=s.CasebookOutput,
        parameters=[STUDY_ID],
        summary="The whole casebook in one answer",
    )
    def get(self, request, study_id: str):
        patient = patient_get_for(request.user, study_id, with_single_parts=True)
        book = load_casebook(patient, parts_joined=True)
        signature = (
            Signature.objects.filter(patient=patient).valid().select_related("signed_by").first()
        )
        context = {**self.context_for(patient), "signature": signature}
        return Response(s.CasebookOutput(book, context=context).data)


class RegistrationView(PatientApiView):
    @extend_schema(responses=s.RegistrationOutput, parameters=[STUDY_ID], summary="Registration")
    def get(self, request, study_id: str):
        patient = self.patient(study_id)
        body = s.RegistrationOutput(patient, context=self.context_for(patient)).data
        return Response(body, headers={"ETag": _etag(patient.version)})

    @extend_schema(
        request=s.RegistrationUpdateInput,
        responses=s.RegistrationOutput,
        parameters=[STUDY_ID, IF_MATCH],
        summary="Change the registration",
    )
    def patch(self, request, study_id: str):
        patient = self.patient(study_id)
        data = valid(s.RegistrationUpdateInput, request.data, partial=True)
        version = _expected_version(request, data.pop("version", None))
        reason = data.pop("reason", "")
        patient = services.crf_record_save(
            user=request.user,
            patient=patient,
            section=c.Section.REGISTRATION,
            data=data,
            expected_version=version,
            reason=reason,
        )
        body = s.RegistrationOutput(patient, context=self.context_for(patient)).data
        return Response(body, headers={"ETag": _etag(patient.version)})


# -- CRF parts: one view class per part, built from a table so every part behaves alike -------

PARTS: dict[str, tuple[str, type[Model], type, type]] = {
    "baseline": (c.Section.BASELINE, Baseline, s.BaselineInput, s.BaselineOutput),
    "first-line": (c.Section.FIRST_LINE, FirstLineTherapy, s.FirstLineInput, s.FirstLineOutput),
    "second-line": (
        c.Section.SECOND_LINE,
        SecondLineTherapy,
        s.SecondLineInput,
        s.SecondLineOutput,
    ),
    "assessments": (
        c.Section.ASSESSMENTS,
        TumourAssessment,
        s.AssessmentInput,
        s.AssessmentOutput,
    ),
    "adverse-events": (
        c.Section.ADVERSE_EVENTS,
        AdverseEvent,
        s.AdverseEventInput,
        s.AdverseEventOutput,
    ),
    "follow-ups": (c.Section.FOLLOW_UP, FollowUp, s.FollowUpInput, s.FollowUpOutput),
}
SINGLE_PARTS = ("baseline", "first-line", "second-line")
REPEATING_PARTS = ("assessments", "adverse-events", "follow-ups")


class _PartView(PatientApiView):
    section: str
    model: type[Model]
    input_serializer: type
    output_serializer: type

    def render(self, patient, record, code=200, headers=None) -> Response:
        body = self.output_serializer(record, context=self.context_for(patient)).data
        return Response(
            body, status=code, headers={"ETag": _etag(record.version), **(headers or {})}
        )

    def save(self, patient, data, *, record_id=None, version=None):
        reason = data.pop("reason", "")
        return services.crf_record_save(
            user=self.request.user,
            patient=patient,
            section=self.section,
            data=data,
            record_id=record_id,
            expected_version=version,
            reason=reason,
        )


class _SinglePartView(_PartView):
    def get(self, request, study_id: str):
        patient = self.patient(study_id)
        record = self.model.objects.filter(patient=patient).first()
        if record is None:
            raise ApplicationError(
                f"{c.Section(self.section).label} not entered yet.",
                code=ErrorCode.NOT_FOUND,
            )
        return self.render(patient, record)

    @idempotent
    def post(self, request, study_id: str):
        patient = self.patient(study_id)
        data = valid(self.input_serializer, request.data)
        data.pop("version", None)
        if self.model.objects.filter(patient=patient).exists():
            raise ApplicationError(
                f"{c.Section(self.section).label} is entered already; change it with PATCH.",
                code=ErrorCode.CONFLICT,
            )
        record = self.save(patient, data)
        return self.render(patient, record, code=201)

    def patch(self, request, study_id: str):
        patient = self.patient(study_id)
        data = valid(self.input_serializer, request.data, partial=True)
        version = _expected_version(request, data.pop("version", None))
        record = self.model.objects.filter(patient=patient).first()
        if record is None:
            raise ApplicationError(
                f"{c.Section(self.section).label} not entered yet; create it with POST.",
                code=ErrorCode.NOT_FOUND,
            )
        record = self.save(patient, data, record_id=record.pk, version=version)
        return self.render(patient, record)


class _RepeatingListView(_PartView):
    def get(self, request, study_id: str):
        patient = self.patient(study_id)
        records = self.model.objects.filter(patient=patient)
        body = self.output_serializer(records, many=True, context=self.context_for(patient)).data
        return Response(body)

    @idempotent
    def post(self, request, study_id: str):
        patient = self.patient(study_id)
        data = valid(self.input_serializer, request.data)
        data.pop("version", None)
        record = self.save(patient, data)
        return self.render(patient, record, code=201)


class _RepeatingItemView(_PartView):
    query_params = frozenset({"reason", "version"})

    def record(self, patient, record_id: int):
        record = self.model.objects.filter(patient=patient, pk=record_id).first()
        if record is None:
            raise ApplicationError("No such record.", code=ErrorCode.NOT_FOUND)
        return record

    def get(self, request, study_id: str, record_id: int):
        patient = self.patient(study_id)
        return self.render(patient, self.record(patient, record_id))

    def patch(self, request, study_id: str, record_id: int):
        patient = self.patient(study_id)
        data = valid(self.input_serializer, request.data, partial=True)
        version = _expected_version(request, data.pop("version", None))
        record = self.record(patient, record_id)
        record = self.save(patient, data, record_id=record.pk, version=version)
        return self.render(patient, record)

    def delete(self, request, study_id: str, record_id: int):
        patient = self.patient(study_id)
        # DELETE bodies are dropped by some clients and proxies, so the query string counts too.
        if request.data:
            data = valid(s.DeleteInput, request.data)
        else:
            query = request.query_params
            given = {k: query.get(k) for k in ("reason", "version") if k in query}
            data = valid(s.DeleteQueryInput, given)
        version = _expected_version(request, data.get("version"))
        record = self.record(patient, record_id)
        services.crf_record_delete(
            user=request.user,
            patient=patient,
            section=self.section,
            record_id=record.pk,
            expected_version=version,
            reason=data["reason"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _part_views(slug: str) -> dict[str, type]:
    section, model, input_serializer, output_serializer = PARTS[slug]
    label = c.Section(section).label
    attrs = {
        "section": section,
        "model": model,
        "input_serializer": input_serializer,
        "output_serializer": output_serializer,
    }
    name = "".join(part.title() for part in slug.split("-"))
    tags = ["casebook parts"]
    views: dict[str, type] = {}
    if slug in SINGLE_PARTS:
        view = type(f"{name}View", (_SinglePartView,), dict(attrs))
        views["single"] = extend_schema(tags=tags, parameters=[STUDY_ID])(
            _decorate(
                view,
                get=extend_schema(responses=output_serializer, summary=f"{label}: read"),
                post=extend_schema(
                    request=input_serializer,
                    responses={201: output_serializer},
                    summary=f"{label}: enter",
                ),
                patch=extend_schema(
                    request=input_serializer,
                    responses=output_serializer,
                    parameters=[IF_MATCH],
                    summary=f"{label}: change (send version)",
                ),
            )
        )
        return views
    list_view = type(f"{name}ListView", (_RepeatingListView,), dict(attrs))
    item_view = type(f"{name}ItemView", (_RepeatingItemView,), dict(attrs))
    views["list"] = extend_schema(tags=tags, parameters=[STUDY_ID])(
        _decorate(
            list_view,
            get=extend_schema(responses=output_serializer(many=True), summary=f"{label}: list"),
            post=extend_schema(
                request=input_serializer,
                responses={201: output_serializer},
                summary=f"{label}: add one",
            ),
        )
    )
    views["item"] = extend_schema(tags=tags, parameters=[STUDY_ID, RECORD_ID])(
        _decorate(
            item_view,
            get=extend_schema(responses=output_serializer, summary=f"{label}: read one"),
            patch=extend_schema(
                request=input_serializer,
                responses=output_serializer,
                parameters=[IF_MATCH],
                summary=f"{label}: change one (send version)",
            ),
            delete=extend_schema(
                responses={204: None},
                parameters=[
                    OpenApiParameter(
                        "reason",
                        str,
                        OpenApiParameter.QUERY,
                        required=True,
                        description="Why the record is deleted (or 'reason' in a JSON body).",
                    ),
                    OpenApiParameter(
                        "version",
                        int,
                        OpenApiParameter.QUERY,
                        description="The version you read (or If-Match, or in the body).",
                    ),
                    IF_MATCH,
                ],
                summary=f"{label}: delete one (with a reason)",
            ),
        )
    )
    return views


def _decorate(view: type, **decorators) -> type:
    # Wrap the inherited handler in a subclass method, so each part gets its own schema.
    for method, decorator in decorators.items():
        base = getattr(view, method)

        def handler(self, *args, __base=base, **kwargs):
            return __base(self, *args, **kwargs)

        handler.__name__ = method
        setattr(view, method, decorator(handler))
    return view


PART_VIEWS = {slug: _part_views(slug) for slug in PARTS}


# -- casebook workflow -------------------------------------------------------------------------


class CasebookCompleteView(PatientApiView):
    @extend_schema(
        request=None,
        responses=s.CasebookStateOutput,
        parameters=[STUDY_ID],
        summary="Mark the whole casebook complete (ready to sign)",
    )
    @idempotent
    def post(self, request, study_id: str):
        patient = services.casebook_mark_complete(user=request.user, patient=self.patient(study_id))
        return Response(s.CasebookStateOutput(patient).data)


class NoAdverseEventsView(PatientApiView):
    @extend_schema(
        request=s.NoAdverseEventsInput,
        responses=s.NoAdverseEventsOutput,
        parameters=[STUDY_ID],
        summary="Confirm that no adverse event occurred (the part can be complete with none)",
    )
    @idempotent
    def post(self, request, study_id: str):
        data = valid(s.NoAdverseEventsInput, request.data)
        patient = services.adverse_events_none_confirm(
            user=request.user,
            patient=self.patient(study_id),
            confirmed=data["confirmed"],
            reason=data["reason"],
        )
        return Response(s.NoAdverseEventsOutput(patient).data)


class SectionCompleteView(PatientApiView):
    @extend_schema(
        request=None,
        responses=s.SectionCompleteOutput,
        parameters=[
            STUDY_ID,
            OpenApiParameter("section", str, OpenApiParameter.PATH, enum=c.Section.values),
        ],
        summary="Mark one part complete (later changes need a reason)",
    )
    @idempotent
    def post(self, request, study_id: str, section: str):
        if section not in c.Section.values:
            raise ApplicationError("No such part.", code=ErrorCode.NOT_FOUND)
        completion = services.section_mark_complete(
            user=request.user, patient=self.patient(study_id), section=section
        )
        return Response(s.SectionCompleteOutput(completion).data)


class CasebookLockView(PatientApiView):
    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(PasswordReentryThrottle())
        return throttles

    @extend_schema(
        request=s.LockInput,
        responses=s.LockOutput,
        parameters=[STUDY_ID],
        summary="Sign and lock a complete casebook (password + signature statement)",
    )
    @idempotent
    def post(self, request, study_id: str):
        patient = self.patient(study_id)
        data = valid(s.LockInput, request.data)
        signature = services.casebook_lock(
            user=request.user, patient=patient, password=data["password"], meaning=data["meaning"]
        )
        patient.refresh_from_db()
        patient.signature = signature
        return Response(s.LockOutput(patient).data)


class CasebookUnlockView(PatientApiView):
    @extend_schema(
        request=s.UnlockInput,
        responses=s.CasebookStateOutput,
        parameters=[STUDY_ID],
        summary="Unlock for correction (data manager, with a reason)",
    )
    @idempotent
    def post(self, request, study_id: str):
        patient = self.patient(study_id)
        data = valid(s.UnlockInput, request.data)
        patient = services.casebook_unlock(
            user=request.user, patient=patient, reason=data["reason"]
        )
        return Response(s.CasebookStateOutput(patient).data)


class PatientHistoryView(PatientApiView):
    @extend_schema(
        responses=s.HistoryEntryOutput(many=True),
        parameters=[STUDY_ID],
        summary="Change history: field changes and workflow events, newest first",
    )
    def get(self, request, study_id: str):
        patient = self.patient(study_id)
        entries = patient_history(
            patient, identifiers=permissions.can_see_identifiers(request.user, patient)
        )
        return Response(s.HistoryEntryOutput(entries, many=True).data)
