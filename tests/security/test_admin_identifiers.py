"""No identifier oracle in the admin: a user who may not see MRNs, dates of birth, initials or
free-text notes in lists cannot filter, search or sort on them through the URL either (the
result count would give them away a character at a time)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from registry.admin import lookup_reaches_identifier
from registry.models import Patient
from tests import builders

ROLES = ["coordinator_a", "investigator_a", "data_manager", "pi_user", "admin_user"]
# Who sees identifiers in lists: administrators, and site staff (their own centre only).
SEES_IDENTIFIERS = {"coordinator_a", "investigator_a", "admin_user"}


def _identifier_paths(model) -> list[str]:
    """Every way to reach an identifier from a model's change list: its own identifier fields,
    the patient's through ``patient__``, and from the patient into each part's."""
    paths = [*sorted(getattr(model, "identifier_fields", ()))]
    if model is Patient:
        for relation in Patient._meta.related_objects:
            for name in sorted(getattr(relation.related_model, "identifier_fields", ())):
                paths.append(f"{relation.name}__{name}")
    elif any(f.name == "patient" for f in model._meta.fields):
        paths += [f"patient__{name}" for name in sorted(Patient.identifier_fields)]
    return paths


def _cases():
    registry_admins = [m for m in admin.site._registry if m._meta.app_label == "registry"]
    for model in registry_admins:
        for path in _identifier_paths(model):
            yield model, path


CASES = list(_cases())


def test_every_identifier_is_covered():
    # mrn, date of birth, initials and notes of the patient, through each admin model.
    covered = {path.split("__")[-1] for _model, path in CASES}
    assert {"mrn", "date_of_birth", "initials", "notes"} <= covered
    assert len(CASES) >= 30


@pytest.fixture
def casebook(coordinator_a):
    return builders.build_casebook(coordinator_a)


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("role", ROLES)
def test_identifier_lookups_in_the_url_follow_the_role(client, request, role, casebook):
    user = request.getfixturevalue(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    wrong = []
    for model, path in CASES:
        if role in SEES_IDENTIFIERS:
            if "__" in path:
                continue  # across a relation Django's own rule decides (only list_filter paths)
            expected = 200
        else:
            expected = 400
        lookup = f"{path}__year" if path.endswith("date_of_birth") else f"{path}__startswith"
        value = "1950" if lookup.endswith("year") else "A"
        response = client.get(_changelist(model), {lookup: value})
        if response.status_code != expected:
            wrong.append((model.__name__, lookup, response.status_code))
    assert wrong == []


def test_data_manager_cannot_search_by_mrn(client, data_manager, casebook):
    data_manager.is_staff = True
    data_manager.save(update_fields=["is_staff"])
    response = client.force_login(data_manager) or client.get(
        _changelist(Patient), {"q": casebook.mrn}
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    # The same search by study id finds the patient: the search itself works.
    response = client.get(_changelist(Patient), {"q": casebook.study_id})
    assert response.context["cl"].result_count == 1


def test_coordinator_finds_own_patient_by_mrn(client, coordinator_a, casebook):
    coordinator_a.is_staff = True
    coordinator_a.save(update_fields=["is_staff"])
    client.force_login(coordinator_a)
    response = client.get(_changelist(Patient), {"q": casebook.mrn})
    assert response.context["cl"].result_count == 1


def test_lookup_path_walks_relations_both_ways():
    assert lookup_reaches_identifier(Patient, "mrn__startswith")
    assert lookup_reaches_identifier(Patient, "signatures__patient__date_of_birth__year")
    assert not lookup_reaches_identifier(Patient, "study_id__startswith")
    assert not lookup_reaches_identifier(Patient, "center__code")
