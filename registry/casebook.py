"""One patient's casebook as plain objects, loaded with a fixed number of queries.

``load_casebooks`` fetches any number of casebooks with one query per CRF table
(never one per patient), so pages, completeness checks, the cross-part rules and
the analysis table all read the same snapshot the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from registry import choices as c
from registry import derived
from registry.models import (
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

# Which attribute of a Casebook holds each CRF part (registration is the patient itself).
SECTION_ATTR: dict[str, str] = {
    c.Section.BASELINE: "baseline",
    c.Section.FIRST_LINE: "first_line",
    c.Section.SECOND_LINE: "second_line",
    c.Section.ASSESSMENTS: "assessments",
    c.Section.ADVERSE_EVENTS: "adverse_events",
    c.Section.FOLLOW_UP: "follow_ups",
}


# The patient's one-to-one parts, which a patients' query may join (select_related) so that
# load_casebooks needs no query of their own.
SINGLE_PART_RELATIONS = ("baseline", "first_line", "second_line")


@dataclass
class Casebook:
    patient: Patient
    baseline: Baseline | None = None
    first_line: FirstLineTherapy | None = None
    second_line: SecondLineTherapy | None = None
    assessments: list[TumourAssessment] = field(default_factory=list)
    adverse_events: list[AdverseEvent] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    completed_sections: set[str] = field(default_factory=set)

    # -- facts -----------------------------------------------------------------
    @property
    def death_date(self) -> date | None:
        dates = [f.death_date for f in self.follow_ups if f.death_date is not None]
        return min(dates) if dates else None

    @property
    def index_date(self) -> date | None:
        return self.second_line.start_date if self.second_line else None

    def last_known_alive(self) -> date | None:
        candidates: list[date | None] = [
            f.contact_date for f in self.follow_ups if f.vital_status == c.VitalStatus.ALIVE
        ]
        candidates += [a.assessment_date for a in self.assessments]
        if self.second_line:
            sl = self.second_line
            candidates += [sl.start_date, sl.end_date, sl.progression_date]
        candidates += [ae.onset_date for ae in self.adverse_events]
        candidates += [ae.resolution_date for ae in self.adverse_events]
        return derived.last_known_alive(candidates)

    def depth_of_response_pct(self) -> float | None:
        first_line = [
            derived.Measurement(a.assessment_date, a.target_sum_mm)
            for a in self.assessments
            if a.line == c.TreatmentLine.FIRST
        ]
        return derived.depth_of_response_pct(first_line)

    def section_status(self, section: str) -> c.SectionStatus:
        """Where one part of the casebook stands; registration always has data."""
        if section in self.completed_sections:
            return c.SectionStatus.COMPLETE
        has_data = (
            section == c.Section.REGISTRATION
            or bool(getattr(self, SECTION_ATTR[section]))
            or (section == c.Section.ADVERSE_EVENTS and self.patient.no_adverse_events)
        )
        return c.SectionStatus.INCOMPLETE if has_data else c.SectionStatus.NOT_STARTED

    def completeness(self) -> tuple[int, int]:
        """(parts complete, parts in all)."""
        return len(self.completed_sections & set(c.Section.values)), len(c.Section.values)

    def analysis_row(self) -> dict | None:
        """The contract's patient-table row, or None while the casebook lacks the 2L index."""
        patient, baseline, first_line, second_line = (
            self.patient,
            self.baseline,
            self.first_line,
            self.second_line,
        )
        if second_line is None:
            return None
        index = second_line.start_date
        death = self.death_date
        alive = self.last_known_alive() or index
        os_time = derived.overall_survival(index, death, alive)
        second_line_assessments = [
            a.assessment_date for a in self.assessments if a.line == c.TreatmentLine.SECOND
        ]
        pfs_time = derived.progression_free_survival(
            index,
            second_line.progression_date,
            death,
            max(second_line_assessments) if second_line_assessments else None,
        )
        row: dict = {
            "study_id": patient.study_id,
            "center": patient.center.code,
            "age_years": float(derived.age_in_years(patient.date_of_birth, index)),
            "sex": patient.sex,
            # A value under a missing-data code is stored empty and reaches the engine as
            # missing (a blank cell), never as a category of its own.
            "smoking": (baseline.smoking or None) if baseline else None,
            "bmi": derived.bmi(baseline.height_cm, baseline.weight_kg) if baseline else None,
            "ecog": baseline.ecog if baseline else None,
            "brain_mets": int(baseline.mets_brain) if baseline else None,
            "liver_mets": int(baseline.mets_liver) if baseline else None,
            "prior_thoracic_rt": int(first_line.thoracic_rt) if first_line else None,
            "l2_radiotherapy": _flag(second_line.has_radiotherapy),
            "l2_antiangiogenic": _flag(second_line.has_antiangiogenic),
            "l1_pfs_months": (
                derived.first_line_pfs_months(first_line.start_date, first_line.progression_date)
                if first_line
                else None
            ),
            "dpr_pct": self.depth_of_response_pct(),
            "os_months": os_time.months,
            "os_event": os_time.event,
            "pfs_months": pfs_time.months,
            "pfs_event": pfs_time.event,
        }
        return row

    def l2_best_response(self) -> str | None:
        """RECIST 1.1 best overall response on the second line (``derived``), None without
        a 2L start or a 2L assessment: the patient table's ``l2_best_response`` (contract §7).

        Kept out of ``analysis_row``, whose keys are the exported analysis dataset and the
        committed demo CSV's columns."""
        if self.second_line is None:
            return None
        return derived.best_overall_response(
            self.second_line.start_date,
            [
                derived.Response(a.assessment_date, a.overall_response)
                for a in self.assessments
                if a.line == c.TreatmentLine.SECOND
            ],
        )

    def adverse_event_rows(self) -> list[dict]:
        """The contract's adverse-event rows (onset as days from the 2L start)."""
        index = self.index_date
        return [
            {
                "study_id": self.patient.study_id,
                "term": ae.term,
                "grade": ae.grade,
                "immune_related": int(ae.immune_related),
                "onset_day": (ae.onset_date - index).days if index else None,
            }
            for ae in self.adverse_events
        ]


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def section_records(book: Casebook, section: str) -> list:
    """The records of one CRF part of ``book`` as a list (empty when a single part is absent)."""
    value = getattr(book, SECTION_ATTR[section])
    if section in REPEATING_SECTIONS:
        return list(value)
    return [] if value is None else [value]


def load_casebooks(
    patients: QuerySet[Patient] | Iterable[Patient], *, parts_joined: bool = False
) -> list[Casebook]:
    """Casebooks for the given patients with one query per CRF table.

    ``parts_joined``: the caller has just read these patients with their single parts joined
    (``patient_get_for(..., with_single_parts=True)``), so those parts need no query. Only on
    the caller's word: a patient object that lived through a save holds its parts as they
    were, and a casebook built from them (analysis rows, rules) would be stale.
    """
    patient_list = list(patients)
    books = {p.pk: Casebook(patient=p) for p in patient_list}
    if not books:
        return []
    # A queryset becomes a subquery, so 100,000 casebooks do not make a 100,000-item IN list.
    ids = patients.values("pk") if isinstance(patients, QuerySet) else list(books)
    for model in (Baseline, FirstLineTherapy, SecondLineTherapy):
        attr = SECTION_ATTR[model.section]
        relation = model._meta.get_field("patient").remote_field
        if parts_joined and all(relation.is_cached(p) for p in patient_list):
            # Joined to the patients' query already (select_related): no query of its own.
            for patient in patient_list:
                setattr(books[patient.pk], attr, getattr(patient, attr, None))
            continue
        for record in model.objects.filter(patient_id__in=ids):
            setattr(books[record.patient_id], attr, record)
    repeating: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for model in (TumourAssessment, AdverseEvent, FollowUp):
        attr = SECTION_ATTR[model.section]
        ordered = model.objects.filter(patient_id__in=ids).order_by(
            "patient_id", *model._meta.ordering
        )
        for record in ordered:
            repeating[attr][record.patient_id].append(record)
        for patient_id, records in repeating[attr].items():
            setattr(books[patient_id], attr, records)
    for patient_id, section in SectionCompletion.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "section"
    ):
        books[patient_id].completed_sections.add(section)
    for book in books.values():
        # Reuse the loaded patient object on each record so str() needs no query.
        records = (book.baseline, book.first_line, book.second_line)
        for record in (*records, *book.assessments, *book.adverse_events, *book.follow_ups):
            if record is not None:
                record.patient = book.patient
    return [books[p.pk] for p in patient_list]


def load_casebook(patient: Patient, *, parts_joined: bool = False) -> Casebook:
    return load_casebooks([patient], parts_joined=parts_joined)[0]
