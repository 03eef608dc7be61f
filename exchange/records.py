"""Casebooks for the export, read as plain rows instead of model instances.

An export of 100,000 patients reads about 1.2 million CRF records. Building a Django
model instance for each (signals, field descriptors, ``__init__``) was about half of the
export's time, and the export only ever reads attributes. So each table is read with
``values_list`` and every row becomes a light, read-only record with the same attribute
names as the model (``patient_id``, ``start_date``, …). ``Casebook`` and the column
getters in ``tables.py`` use nothing but attribute access, so they run unchanged on these
records and give exactly the values ``load_casebooks`` would.
"""

from __future__ import annotations

import json
from collections import defaultdict, namedtuple
from collections.abc import Iterable

from django.db import connection, connections, models
from django.db.models import F, Lookup, Q, QuerySet
from psycopg.adapt import Loader

from exchange.fieldmap import FIELD_MAP, INTERNAL
from registry.casebook import SECTION_ATTR, Casebook
from registry.models import (
    CRF_MODELS,
    REPEATING_SECTIONS,
    AdverseEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    SectionCompletion,
    TumourAssessment,
)

# The patient's centre: only its code is read (exported label, risk groups).
CenterRef = namedtuple("CenterRef", ["code"])


def _attnames(model: type[models.Model]) -> list[str]:
    """The columns worth reading: all but the field map's internal bookkeeping.

    ``updated_at``/``created_at`` alone were ~150,000 timestamp parses per 10,000
    patients, and neither the casebook nor any exported column reads them. The pk stays
    so a record can still be told apart; reading a left-out field fails loudly.
    """
    rules = FIELD_MAP[model]
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.primary_key or rules[f.name].decision != INTERNAL
    ]


def _record_type(model: type[models.Model], extra: tuple[str, ...] = ()) -> type:
    return namedtuple(f"{model.__name__}Row", [*_attnames(model), *extra])


_PatientBase = _record_type(Patient, extra=("center",))
_PATIENT_PK = Patient._meta.pk.attname


class PatientRow(_PatientBase):
    __slots__ = ()


class SecondLineRow(_record_type(SecondLineTherapy)):
    __slots__ = ()

    # The two properties of SecondLineTherapy that Casebook.analysis_row reads.
    has_radiotherapy = SecondLineTherapy.has_radiotherapy
    has_antiangiogenic = SecondLineTherapy.has_antiangiogenic


_ROW_TYPES: dict[type[models.Model], type] = {
    Baseline: _record_type(Baseline),
    FirstLineTherapy: _record_type(FirstLineTherapy),
    SecondLineTherapy: SecondLineRow,
    TumourAssessment: _record_type(TumourAssessment),
    AdverseEvent: _record_type(AdverseEvent),
    FollowUp: _record_type(FollowUp),
}


class _AnyOf(Lookup):
    """``column = ANY(%s)`` with the whole list as one (array) parameter: PostgreSQL."""

    lookup_name = "any_of"
    prepare_rhs = False  # the list goes to psycopg as it is (an array)

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


def _of_chunk(field_name: str, pks: list[int]) -> Q | Lookup:
    """``field_name`` is one of ``pks``. On PostgreSQL as ``= ANY(array)``, one parameter:
    an ``IN`` of 2,000 placeholders per table per chunk, built by Django and parsed again by
    psycopg, was a tenth of the export's time."""
    if connection.vendor == "postgresql":
        return _AnyOf(F(field_name), pks)
    return Q(**{f"{field_name}__in": pks})


class _JsonbOncePerText(Loader):
    """A jsonb value as ``JSONField.from_db_value`` gives it (``json.loads`` of its text:
    none of the fields read has a decoder of its own), parsed once per distinct text of a
    query's result. Nearly every record has one of a few missing-code texts (mostly ``{}``):
    parsing each was a tenth of the export's time. The records are read-only, so they may
    share the parsed values."""

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self._parsed: dict[bytes, object] = {}

    def load(self, data) -> object:
        text = bytes(data)
        try:
            return self._parsed[text]
        except KeyError:
            value = self._parsed[text] = json.loads(text)
            return value


def _fetched(query: QuerySet) -> Iterable[tuple]:
    """The rows of a ``values_list`` query, as Django would give them.

    On PostgreSQL the query Django compiles is run on a cursor of its connection and fetched
    at once, without Django's per-row iteration, jsonb parsed by ``_JsonbOncePerText``.
    """
    if connection.vendor != "postgresql":
        return query
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        # This cursor's own loaders (psycopg copies the connection's for each cursor).
        cursor.cursor.adapters.register_loader("jsonb", _JsonbOncePerText)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _rows(model: type[models.Model], pks: list[int], ordering: Iterable[str] = ()) -> Iterable:
    row_type = _ROW_TYPES[model]
    query = model.objects.filter(_of_chunk("patient_id", pks)).order_by(*ordering)
    return map(row_type._make, _fetched(query.values_list(*_attnames(model))))


# _JsonbOncePerText parses with plain json.loads: what from_db_value does without a decoder.
if any(
    isinstance(f, models.JSONField) and f.decoder is not None
    for model in (Patient, *_ROW_TYPES)
    for f in model._meta.concrete_fields
):
    raise RuntimeError("a JSON field read by the export has a decoder: load it with it")


def load_casebook_rows(pks: list[int]) -> dict[int, Casebook]:
    """Casebooks (patient pk → Casebook) for one chunk of patients, one query per table.

    The same records, in the same order, as ``registry.casebook.load_casebooks``:
    single parts by patient, repeating parts by patient then the model's ordering.
    """
    books: dict[int, Casebook] = {}
    patient_fields = _attnames(Patient)
    query = Patient.objects.filter(_of_chunk("pk", pks)).order_by()
    for values in _fetched(query.values_list(*patient_fields, "center__code")):
        patient = PatientRow._make((*values[:-1], CenterRef(values[-1])))
        books[getattr(patient, _PATIENT_PK)] = Casebook(patient=patient)
    single_parts = [m for m in CRF_MODELS if m.section not in REPEATING_SECTIONS]
    repeating_parts = [m for m in CRF_MODELS if m.section in REPEATING_SECTIONS]
    for model in single_parts:
        attr = SECTION_ATTR[model.section]
        for record in _rows(model, pks):
            setattr(books[record.patient_id], attr, record)
    for model in repeating_parts:
        attr = SECTION_ATTR[model.section]
        grouped: dict[int, list] = defaultdict(list)
        for record in _rows(model, pks, ("patient_id", *model._meta.ordering)):
            grouped[record.patient_id].append(record)
        for patient_id, records in grouped.items():
            setattr(books[patient_id], attr, records)
    completions = SectionCompletion.objects.filter(_of_chunk("patient_id", pks)).values_list(
        "patient_id", "section"
    )
    for patient_id, section in _fetched(completions):
        books[patient_id].completed_sections.add(section)
    return books
