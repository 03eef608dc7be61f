"""Every role rule, role by role: the table a reader can check against the protocol."""

from types import SimpleNamespace

import pytest

from core import permissions
from core.roles import Role

ROLES = [Role.COORDINATOR, Role.INVESTIGATOR, Role.DATA_MANAGER, Role.PI, Role.ADMIN]


def person(role, center_id=None, *, superuser=False, active=True, staff=False, perms=()):
    return SimpleNamespace(
        role=role,
        center_id=center_id,
        is_superuser=superuser,
        is_active=active,
        is_authenticated=True,
        is_staff=staff,
        has_perm=lambda name: name in perms,
    )


def site_person(role):
    return person(role, center_id=1 if role in (Role.COORDINATOR, Role.INVESTIGATOR) else None)


# rule → the roles for which it is true (C: coordinator, I: investigator, D: data manager,
# P: PI, A: administrator).
EXPECTED = {
    permissions.is_site_staff: {Role.COORDINATOR, Role.INVESTIGATOR},
    permissions.sees_all_centers: {Role.DATA_MANAGER, Role.PI, Role.ADMIN},
    permissions.can_edit_crf: {Role.COORDINATOR, Role.INVESTIGATOR, Role.DATA_MANAGER, Role.ADMIN},
    permissions.can_lock: {Role.INVESTIGATOR, Role.DATA_MANAGER},
    permissions.can_unlock: {Role.DATA_MANAGER},
    permissions.is_administrator: {Role.ADMIN},
    permissions.sees_identifiers_in_lists: {Role.COORDINATOR, Role.INVESTIGATOR, Role.ADMIN},
    permissions.can_see_dashboard: {Role.DATA_MANAGER, Role.PI, Role.ADMIN},
    permissions.can_edit_plan: {Role.PI, Role.ADMIN},
    permissions.can_export: {Role.COORDINATOR, Role.INVESTIGATOR, Role.PI, Role.ADMIN},
    permissions.can_verify_source: {Role.DATA_MANAGER},
}


@pytest.mark.parametrize("rule", EXPECTED, ids=lambda rule: rule.__name__)
def test_each_role_rule_allows_exactly_its_roles(rule):
    allowed = {role for role in ROLES if rule(site_person(role))}
    assert allowed == EXPECTED[rule]


def test_identifiers_are_shown_to_the_patients_own_centre_and_administrators():
    patient = SimpleNamespace(center_id=1)
    assert permissions.can_see_identifiers(person(Role.COORDINATOR, 1), patient)
    assert not permissions.can_see_identifiers(person(Role.COORDINATOR, 2), patient)
    assert not permissions.can_see_identifiers(person(Role.DATA_MANAGER), patient)
    assert not permissions.can_see_identifiers(person(Role.PI), patient)
    assert permissions.can_see_identifiers(person(Role.ADMIN), patient)


def test_a_superuser_counts_as_an_administrator_whatever_the_role_field():
    root = person(Role.COORDINATOR, 1, superuser=True)
    assert permissions.is_administrator(root)
    assert permissions.sees_all_centers(root)
    assert permissions.can_see_dashboard(root)


def test_an_inactive_account_may_do_nothing():
    for role in ROLES:
        gone = person(role, 1 if role in (Role.COORDINATOR, Role.INVESTIGATOR) else None)
        gone.is_active = False
        assert not permissions.can_edit_crf(gone)
        assert not permissions.can_lock(gone)
        assert not permissions.can_export(gone)
        assert not permissions.is_administrator(gone)


def test_identified_exports_need_an_administrator_with_the_permission():
    granted = (permissions.IDENTIFIED_EXPORT_PERMISSION,)
    assert permissions.can_export_identified(person(Role.ADMIN, perms=granted))
    assert not permissions.can_export_identified(person(Role.ADMIN))
    assert not permissions.can_export_identified(person(Role.PI, perms=granted))


def test_accounts_are_managed_by_administrators_with_admin_site_access():
    assert permissions.can_manage_accounts(person(Role.ADMIN, staff=True))
    assert not permissions.can_manage_accounts(person(Role.ADMIN, staff=False))
    assert not permissions.can_manage_accounts(person(Role.DATA_MANAGER, staff=True))
