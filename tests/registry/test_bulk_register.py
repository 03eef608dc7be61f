"""``casebooks_register_bulk``: many new casebooks at once with the services' rules, study
ids from the registry, a history row per record by the user with the reason."""

from datetime import date

import pytest

from core.errors import ApplicationError
from registry import services
from registry.casebook import Casebook
from registry.models import AuditEvent, Baseline, Patient
from tests import builders


def _book(center, **registration) -> Casebook:
    patient = Patient(center=center, **builders.registration(**registration))
    baseline = Baseline(patient=patient, **builders.baseline())
    return Casebook(patient=patient, baseline=baseline)


def test_registers_in_order_with_history_and_events(coordinator_a, center_a):
    builders.register_patient(coordinator_a)  # AAA-0001 exists
    books = [_book(center_a), _book(center_a)]
    patients = services.casebooks_register_bulk(
        user=coordinator_a, center=center_a, books=books, reason="import x sha256 0"
    )
    assert [p.study_id for p in patients] == ["AAA-0002", "AAA-0003"]
    baseline = Baseline.objects.get(patient=patients[0])
    history = baseline.history.get()
    assert (history.history_user, history.history_change_reason) == (
        coordinator_a,
        "import x sha256 0",
    )
    events = AuditEvent.objects.filter(patient__in=patients, action=AuditEvent.Action.REGISTER)
    assert sorted(events.values_list("reason", flat=True)) == ["import x sha256 0"] * 2


def test_refuses_a_casebook_breaking_a_rule_and_writes_nothing(coordinator_a, center_a):
    bad = _book(center_a)
    bad.baseline.diagnosis_date = date(2022, 1, 1)  # after the registration date
    with pytest.raises(ApplicationError, match="must not be after the registration date"):
        services.casebooks_register_bulk(
            user=coordinator_a, center=center_a, books=[_book(center_a), bad], reason="r"
        )
    assert Patient.objects.count() == 0


def test_site_staff_register_at_their_own_centre_only(coordinator_a, center_b):
    with pytest.raises(ApplicationError, match="own centre only"):
        services.casebooks_register_bulk(
            user=coordinator_a, center=center_b, books=[_book(center_b)], reason="r"
        )


def test_a_screen_failure_has_no_casebook(coordinator_a, center_a):
    book = _book(center_a, inc_extensive_stage=False)
    with pytest.raises(ApplicationError, match="screen failure has no casebook"):
        services.casebooks_register_bulk(
            user=coordinator_a, center=center_a, books=[book], reason="r"
        )
