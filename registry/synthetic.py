"""Synthetic ES-SCLC casebooks for load tests and demos (``manage.py generate_cohort``).

One function draws a realistic casebook as unsaved model instances; the command validates
it with the same rules as the services (each record's ``full_clean`` and the cross-part
``registry.rules.casebook_violations``) and writes batches with ``bulk_create``.

Distributions are plausible for extensive-stage SCLC after progression on 1L
chemo-immunotherapy (age ~63 ± 9, 80% men, most smokers, ECOG mostly 0–1, brain metastasis
in ~45%, liver ~35%; 1L PFS log-normal around 5.5 months; depth of response ~35% ± 25%;
2L PFS median ~4 months and OS median ~13 months, shorter with liver metastasis, ECOG >= 2
and short 1L response; adverse events at Table 3's rates of the reference cohort).
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from decimal import Decimal

from registry import choices as c
from registry.casebook import Casebook
from registry.models import (
    AdverseEvent,
    Baseline,
    Center,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)

DATA_CUT = date(2024, 4, 11)
EARLIEST_2L_START = date(2019, 1, 1)

# Adverse-event terms with the share of patients having them (reference cohort, Table 3).
AE_RATES: tuple[tuple[str, float, bool], ...] = (
    (c.AeTerm.COUGH, 0.36, False),
    (c.AeTerm.DYSPNEA, 0.36, False),
    (c.AeTerm.PNEUMONITIS, 0.15, True),
    (c.AeTerm.INTERSTITIAL_LUNG_DISEASE, 0.10, False),
    (c.AeTerm.PULMONARY_FIBROSIS, 0.07, False),
    (c.AeTerm.ACUTE_INTERSTITIAL_PNEUMONITIS, 0.03, True),
    (c.AeTerm.FEVER, 0.11, False),
    (c.AeTerm.FATIGUE, 0.18, False),
    (c.AeTerm.RASH_MACULO_PAPULAR, 0.14, False),
    (c.AeTerm.ALOPECIA, 0.14, False),
    (c.AeTerm.PRURITUS, 0.14, False),
    (c.AeTerm.INSOMNIA, 0.04, False),
    (c.AeTerm.NAUSEA, 0.32, False),
    (c.AeTerm.ANOREXIA, 0.36, False),
    (c.AeTerm.VOMITING, 0.25, False),
    (c.AeTerm.CONSTIPATION, 0.11, False),
    (c.AeTerm.DIARRHEA, 0.07, False),
    (c.AeTerm.ANEMIA, 0.14, False),
    (c.AeTerm.NEUTROPHIL_COUNT_DECREASED, 0.11, False),
    (c.AeTerm.PLATELET_COUNT_DECREASED, 0.07, False),
    (c.AeTerm.HYPOTHYROIDISM, 0.11, True),
    (c.AeTerm.HYPERTHYROIDISM, 0.07, True),
    (c.AeTerm.SEVERE_SKIN_REACTION, 0.04, True),
    (c.AeTerm.HEPATITIS, 0.02, True),
    (c.AeTerm.COLITIS, 0.02, True),
)
_INITIALS = "ABCDEFGHJKLMNPRSTWXYZ"
_ONE = Decimal("0.1")


def centre_code(index: int) -> str:
    """'SAA', 'SAB', … then four letters: synthetic centres never clash with real codes."""
    letters = []
    n = index
    for _ in range(2 if index < 676 else 3):
        letters.append(chr(65 + n % 26))
        n //= 26
    return "S" + "".join(reversed(letters))


def _dec(value: float) -> Decimal:
    return Decimal(f"{value:.1f}")


def _response(shrink_pct: float) -> str:
    if shrink_pct >= 100:
        return c.RecistResponse.CR
    if shrink_pct >= 30:
        return c.RecistResponse.PR
    if shrink_pct <= -20:
        return c.RecistResponse.PD
    return c.RecistResponse.SD


def synthetic_casebook(
    rng: random.Random, center: Center, sequence: int, *, data_cut: date = DATA_CUT
) -> Casebook:
    """One enrolled patient's complete casebook as unsaved model instances."""
    r = rng.random
    start = EARLIEST_2L_START + timedelta(
        days=rng.randint(0, (data_cut - EARLIEST_2L_START).days - 60)
    )
    male = r() < 0.8
    age = int(min(85, max(35, rng.gauss(63, 9))))
    dob = start - timedelta(days=int((age + r()) * 365.25))
    patient = Patient(
        center=center,
        sequence=sequence,
        study_id=f"{center.code}-{sequence:04d}",
        mrn=f"SYN{sequence:07d}",
        initials=rng.choice(_INITIALS) + rng.choice(_INITIALS),
        date_of_birth=dob,
        sex=c.Sex.MALE if male else c.Sex.FEMALE,
        registration_date=start,
        inc_confirmed_sclc=True,
        inc_extensive_stage=True,
        inc_progressed_on_atezolizumab=True,
        exc_severe_systemic_disease=False,
        exc_autoimmune_disease=False,
        exc_incomplete_information=False,
        enrolment_status=c.EnrolmentStatus.ENROLLED,
        screen_failure_reason="",
    )

    # -- baseline -------------------------------------------------------------------------
    u = r()
    if male:
        smoking = "never" if u < 0.12 else ("former" if u < 0.6 else "current")
    else:
        smoking = "never" if u < 0.7 else ("former" if u < 0.9 else "current")
    height = min(200.0, max(140.0, rng.gauss(169, 6) if male else rng.gauss(158, 5)))
    bmi = min(35.0, max(15.5, rng.gauss(22.5, 3)))
    weight = bmi * (height / 100) ** 2
    u = r()
    ecog = 0 if u < 0.3 else 1 if u < 0.9 else 2 if u < 0.98 else 3
    shares = (("brain", 0.45), ("liver", 0.35), ("bone", 0.4), ("adrenal", 0.2), ("other", 0.08))
    mets = {name: r() < p for name, p in shares}
    l1_pfs = int(min(900, max(45, rng.lognormvariate(math.log(165), 0.5))))
    l1_prog = start - timedelta(days=rng.randint(7, 40))
    l1_start = l1_prog - timedelta(days=l1_pfs)
    diagnosis = l1_start - timedelta(days=rng.randint(5, 30))
    baseline = Baseline(
        patient=patient,
        smoking=smoking,
        pack_years=None if smoking == "never" else _dec(rng.randint(5, 80)),
        height_cm=_dec(height),
        weight_kg=_dec(weight),
        ecog=ecog,
        diagnosis_date=diagnosis,
        diagnosis_confirmation="histological" if r() < 0.8 else "cytological",
        extensive_stage_basis="distant_metastasis"
        if any(mets.values())
        else "beyond_radiation_port",
        mets_brain=mets["brain"],
        mets_liver=mets["liver"],
        mets_bone=mets["bone"],
        mets_adrenal=mets["adrenal"],
        mets_other=mets["other"],
        mets_other_specify="Pleura" if mets["other"] else "",
    )

    # -- first line and its assessments ---------------------------------------------------
    dpr = min(100.0, max(-40.0, rng.gauss(35, 25)))
    base_sum = rng.randint(40, 180)
    nadir = _dec(base_sum * (1 - dpr / 100))
    rt = l1_pfs > 130 and r() < 0.4
    first_line = FirstLineTherapy(
        patient=patient,
        platinum_agent="carboplatin" if r() < 0.75 else "cisplatin",
        etoposide=True,
        start_date=l1_start,
        cycles=rng.choice((4, 4, 4, 5, 6)),
        thoracic_rt=rt,
        best_response=_response(float((base_sum - nadir) / base_sum * 100)),
        progression_date=l1_prog,
    )
    if rt:
        first_line.thoracic_rt_dose_gy = Decimal("30.0") if r() < 0.6 else Decimal("45.0")
        first_line.thoracic_rt_start = l1_start + timedelta(days=rng.randint(85, 105))
        first_line.thoracic_rt_end = first_line.thoracic_rt_start + timedelta(days=21)
    first_scan = max(diagnosis, l1_start - timedelta(days=3))
    nadir_scan = l1_start + timedelta(days=min(42, l1_pfs // 2))
    assessments = [
        TumourAssessment(
            patient=patient,
            assessment_date=first_scan,
            line="1L",
            target_sum_mm=Decimal(base_sum),
            new_lesions=False,
            overall_response="NE",
        ),
        TumourAssessment(
            patient=patient,
            assessment_date=nadir_scan,
            line="1L",
            target_sum_mm=nadir,
            new_lesions=False,
            overall_response=first_line.best_response,
        ),
        TumourAssessment(
            patient=patient,
            assessment_date=l1_prog,
            line="1L",
            target_sum_mm=nadir + 10,
            new_lesions=r() < 0.4,
            overall_response="PD",
        ),
    ]

    # -- second line, outcome ---------------------------------------------------------------
    hazard = 1.0
    hazard *= 1.5 if mets["liver"] else 1.0
    hazard *= 1.8 if ecog >= 2 else 1.0
    hazard *= 1.4 if l1_pfs < 183 else 0.8
    os_days = max(14, int(rng.expovariate(hazard / 560)))  # median ~13 months at hazard 1
    pfs_days = max(21, int(rng.expovariate(hazard / 175)))  # median ~4 months at hazard 1
    horizon = (data_cut - start).days
    dropout = int(rng.expovariate(1 / 3000))
    follow = min(horizon, dropout)
    died = os_days <= follow
    last = start + timedelta(days=os_days if died else max(7, follow))
    progressed = pfs_days < (os_days if died else follow)
    progression = start + timedelta(days=pfs_days) if progressed else None
    if progression is not None and progression > last:
        progression = last
    if progression is not None:
        end_date, end_reason = progression, c.SecondLineEndReason.PROGRESSION
    elif died:
        end_date, end_reason = last, c.SecondLineEndReason.DEATH
    else:
        end_date, end_reason = None, c.SecondLineEndReason.ONGOING
    partners_rt = r()
    second_line = SecondLineTherapy(
        patient=patient,
        start_date=start,
        chemotherapy_agent=rng.choice(
            ("none", "none", "etoposide_platinum", "irinotecan", "topotecan", "paclitaxel")
        ),
        antiangiogenic_agent="anlotinib" if r() < 0.35 else "none",
        radiotherapy_site=(
            "none"
            if partners_rt > 0.25
            else rng.choice(("primary_thoracic", "lymph_nodes", "brain", "other"))
        ),
        cycles=max(1, min(100, ((end_date or last) - start).days // 21 + 1)),
        end_date=end_date,
        end_reason=end_reason,
        progression_date=progression,
    )
    level = nadir + 10
    scan = start + timedelta(days=rng.randint(42, 63))
    stop = progression or (last - timedelta(days=1))
    while scan < stop and len(assessments) < 15:
        assessments.append(
            TumourAssessment(
                patient=patient,
                assessment_date=scan,
                line="2L",
                target_sum_mm=level,
                new_lesions=False,
                overall_response="SD",
            )
        )
        scan += timedelta(days=rng.randint(42, 63))
    if progression is not None:
        assessments.append(
            TumourAssessment(
                patient=patient,
                assessment_date=progression,
                line="2L",
                target_sum_mm=min(Decimal(999), level + 15),
                new_lesions=r() < 0.5,
                overall_response="PD",
            )
        )

    # -- adverse events -----------------------------------------------------------------------
    span = (last - start).days
    adverse_events = []
    fatal_used = False
    for term, rate, immune in AE_RATES:
        if r() >= rate:
            continue
        u = r()
        grade = 1 if u < 0.6 else 2 if u < 0.9 else 3 if u < 0.98 else 4
        onset = start + timedelta(days=rng.randint(0, max(0, min(span, 180))))
        resolution = onset + timedelta(days=rng.randint(3, 60))
        if resolution > last:
            resolution = None
        outcome = c.AeOutcome.RECOVERED if resolution else c.AeOutcome.NOT_RECOVERED
        if died and grade >= 3 and not fatal_used and r() < 0.05:
            grade, onset, resolution, outcome = 5, last, None, c.AeOutcome.FATAL
            fatal_used = True
        adverse_events.append(
            AdverseEvent(
                patient=patient,
                term=term,
                grade=grade,
                onset_date=onset,
                resolution_date=resolution,
                serious=grade >= 3,
                immune_related=immune,
                attribution="probable" if immune else rng.choice(("possible", "unlikely")),
                action_taken="interrupted" if grade >= 3 else "none",
                outcome=outcome,
            )
        )

    # -- follow-up ------------------------------------------------------------------------------
    follow_ups = []
    if span > 60:
        mid = start + timedelta(days=span // 2)
        follow_ups.append(
            FollowUp(
                patient=patient,
                contact_date=mid,
                vital_status="alive",
                progression_status="progressed"
                if progression and progression <= mid
                else "no_progression",
            )
        )
    if died:
        follow_ups.append(
            FollowUp(
                patient=patient,
                contact_date=min(data_cut, last + timedelta(days=7)),
                vital_status="dead",
                death_date=last,
                death_cause="adverse_event" if fatal_used else "progression",
                progression_status="progressed" if progression else "unknown",
            )
        )
    else:
        follow_ups.append(
            FollowUp(
                patient=patient,
                contact_date=last,
                vital_status="alive",
                progression_status="progressed" if progression else "no_progression",
            )
        )
    # The site's explicit "none occurred", which the adverse-event part needs to be complete.
    patient.no_adverse_events = not adverse_events
    return Casebook(
        patient=patient,
        baseline=baseline,
        first_line=first_line,
        second_line=second_line,
        assessments=assessments,
        adverse_events=adverse_events,
        follow_ups=follow_ups,
    )
