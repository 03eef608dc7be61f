"""Every role rule, named. Nothing else in the code compares a role.

The functions take the signed-in user (and where it matters the patient) and answer
yes or no; they never query. Which rows a user may reach at all is the centre
scope of ``registry.selectors.patients_visible_to``; these rules come on top of it.
A Django superuser counts as an administrator.
"""

from __future__ import annotations

from typing import Any

from core.roles import SITE_ROLES, Role

# Who may change case report form data (PIs read only).
_CRF_EDITORS = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.DATA_MANAGER, Role.ADMIN})
# Who may sign and lock a complete casebook.
_LOCKERS = frozenset({Role.INVESTIGATOR, Role.DATA_MANAGER})
_DASHBOARD_READERS = frozenset({Role.PI, Role.DATA_MANAGER, Role.ADMIN})
_PLAN_EDITORS = frozenset({Role.PI, Role.ADMIN})
_EXPORTERS = frozenset({Role.PI, Role.ADMIN, *SITE_ROLES})
# Who raises, closes and re-opens data queries (the monitors).
_QUERY_REVIEWERS = frozenset({Role.DATA_MANAGER})

IDENTIFIED_EXPORT_PERMISSION = "exchange.export_identified"


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(user.is_active)


def is_administrator(user: Any) -> bool:
    return _signed_in(user) and (user.is_superuser or user.role == Role.ADMIN)


def is_site_staff(user: Any) -> bool:
    """Bound to one centre: a site coordinator or investigator."""
    return user.role in SITE_ROLES


def sees_all_centers(user: Any) -> bool:
    return user.is_superuser or user.role not in SITE_ROLES


def can_edit_crf(user: Any) -> bool:
    return _signed_in(user) and user.role in _CRF_EDITORS


def can_lock(user: Any) -> bool:
    """May sign and lock a complete casebook (of a centre the user sees)."""
    return _signed_in(user) and user.role in _LOCKERS


def can_unlock(user: Any) -> bool:
    return _signed_in(user) and user.role == Role.DATA_MANAGER


def can_see_identifiers(user: Any, patient: Any) -> bool:
    """Direct identifiers are shown to the patient's own centre and to administrators."""
    if is_administrator(user):
        return True
    return _signed_in(user) and is_site_staff(user) and user.center_id == patient.center_id


def sees_identifiers_in_lists(user: Any) -> bool:
    """A list mixes patients; site staff only ever list their own centre's."""
    return is_administrator(user) or (_signed_in(user) and is_site_staff(user))


def can_manage_accounts(user: Any) -> bool:
    """Centres and user accounts are managed by administrators with admin-site access."""
    return is_administrator(user) and user.is_staff


def can_see_dashboard(user: Any) -> bool:
    """The study-wide analysis; site staff see their centre's enrolment only."""
    return _signed_in(user) and (user.is_superuser or user.role in _DASHBOARD_READERS)


def can_use_data_cuts(user: Any) -> bool:
    """Freeze, read, compare and download named data cuts: the dashboard's readers (PI, data
    manager, admin), since a cut holds the whole study's analysis."""
    return can_see_dashboard(user)


def can_edit_plan(user: Any) -> bool:
    return _signed_in(user) and (user.is_superuser or user.role in _PLAN_EDITORS)


def can_export(user: Any) -> bool:
    """PIs and administrators export every centre, site staff their own."""
    return _signed_in(user) and (user.is_superuser or user.role in _EXPORTERS)


def can_review_queries(user: Any) -> bool:
    """May raise a data query, close an answered one and re-open it."""
    return _signed_in(user) and user.role in _QUERY_REVIEWERS


def can_verify_source(user: Any) -> bool:
    """May mark casebook values as verified against the source documents (the monitors)."""
    return _signed_in(user) and user.role in _QUERY_REVIEWERS


def can_answer_query(user: Any, patient: Any) -> bool:
    """Queries are answered (and the data corrected) by the patient's own centre."""
    return _signed_in(user) and is_site_staff(user) and user.center_id == patient.center_id


def can_export_identified(user: Any) -> bool:
    """Identified exports need an administrator who was granted the permission."""
    return is_administrator(user) and user.has_perm(IDENTIFIED_EXPORT_PERMISSION)
