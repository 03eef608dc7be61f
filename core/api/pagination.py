"""Cursor pagination of every API collection: newest first by id, strict page sizes."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    # Newest rows first (ids only grow); the primary key is unique and never changes, so a cursor
    # stays valid while patients are added, and the page query is an index scan at any size.
    ordering = "-id"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        # DRF falls back to the default on a bad value; a client asking for "abc" rows has a
        # bug, and one asking for 1000 would silently get 200: both are told instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"A whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: [message]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = f"Rows per page (default {self.page_size})."
        return parameters


class PatientCursorPagination(NewestFirstPagination):
    # Newest registrations first; fifty rows fit a page of the patient list.
    page_size = 50
