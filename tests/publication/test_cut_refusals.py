"""Freezing refused before there is anything to freeze: no plan, or no locked casebook."""

from __future__ import annotations

import pytest

from analytics import services as analytics_services
from core.errors import ApplicationError, ErrorCode
from publication import services
from publication.models import DataCut
from registry.models import AuditEvent
from tests.builders import build_casebook

pytestmark = pytest.mark.django_db


def test_without_a_plan_the_freeze_is_refused(pi_user):
    with pytest.raises(ApplicationError) as refused:
        services.cut_freeze(user=pi_user, name="Too early")
    assert refused.value.code == ErrorCode.NO_PLAN
    assert not DataCut.objects.exists()


def test_without_a_locked_casebook_the_freeze_is_refused_naming_the_cohort(pi_user, coordinator_a):
    analytics_services.plan_seed_demo()
    build_casebook(coordinator_a, complete=True)  # complete, not locked
    with pytest.raises(ApplicationError) as refused:
        services.cut_freeze(user=pi_user, name="Too early")
    assert refused.value.code == ErrorCode.INVALID
    assert list(refused.value.fields) == ["cohort"]
    assert "no locked casebook" in refused.value.message
    assert not DataCut.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CUT_FREEZE).exists()
