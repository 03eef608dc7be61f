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

from collections import defaultdict, namedtuple
from collections.abc import Iterable

from django.db import models

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


def _rows(model: type[models.Model], pks: list[int], ordering: Iterable[str] = ()) -> Iterable:
    row_type = _ROW_TYPES[model]
    query = model.objects.filter(patient_id__in=pks).order_by(*ordering)
    return map(row_type._make, query.values_list(*_attnames(model)))


def load_casebook_rows(pks: list[int]) -> dict[int, Casebook]:
    """Casebooks (patient pk → Casebook) for one chunk of patients, one query per table.

    The same records, in the same order, as ``registry.casebook.load_casebooks``:
    single parts by patient, repeating parts by patient then the model's ordering.
    """
    books: dict[int, Casebook] = {}
    patient_fields = _attnames(Patient)
    query = Patient.objects.filter(pk__in=pks).order_by()
    for values in query.values_list(*patient_fields, "center__code"):
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
    completions = SectionCompletion.objects.filter(patient_id__in=pks).values_list(
        "patient_id", "section"
    )
    for patient_id, section in completions:
        books[patient_id].completed_sections.add(section)
    return books
