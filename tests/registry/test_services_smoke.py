from registry.models import Baseline, LockedCasebookError
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD


def test_complete_casebook_can_be_signed_and_then_refuses_direct_saves(
    coordinator_a, investigator_a
):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    patient.refresh_from_db()
    assert patient.casebook_status == "locked"
    baseline = Baseline.objects.get(patient=patient)
    baseline.ecog = 3
    try:
        baseline.save()
    except LockedCasebookError:
        pass
    else:
        raise AssertionError("a locked casebook accepted a direct save")
    assert Baseline.objects.get(patient=patient).ecog == 1
