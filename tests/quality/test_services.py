"""The discrepancy workflow: who may raise, answer, close and re-open, and what each step keeps."""

import pytest

from core.errors import ApplicationError, ErrorCode
from quality import services
from quality.models import Query, QueryMessage
from registry import services as registry_services
from registry.models import AdverseEvent, AuditEvent, Baseline, Signature
from registry.services import SIGNATURE_MEANING
from tests.factories import TEST_PASSWORD


def raise_on_weight(user, patient, text="Weight 65 kg: please check against the chart."):
    return services.query_raise(
        user=user, patient=patient, section="baseline", field="weight_kg", text=text
    )


def test_data_manager_raises_a_query_that_keeps_the_questioned_value(data_manager, casebook):
    query = raise_on_weight(data_manager, casebook)
    assert query.status == Query.Status.OPEN
    assert query.value_at_raise == "65.0"
    assert query.raised_by == data_manager
    assert query.where == "baseline weight_kg"
    message = query.messages.get()
    assert (message.kind, message.text) == (
        "raise",
        "Weight 65 kg: please check against the chart.",
    )


def test_raising_a_query_is_in_the_patients_history(data_manager, casebook):
    query = raise_on_weight(data_manager, casebook)
    event = AuditEvent.objects.get(patient=casebook, action=AuditEvent.Action.QUERY_RAISE)
    assert event.user == data_manager
    assert event.detail == {
        "query": query.pk,
        "section": "baseline",
        "id": None,
        "field": "weight_kg",
    }
    assert event.reason.startswith("Weight 65 kg")


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "pi_user", "admin_user"])
def test_only_a_data_manager_may_raise_a_query(request, who, casebook):
    user = request.getfixturevalue(who)
    with pytest.raises(ApplicationError) as info:
        raise_on_weight(user, casebook)
    assert info.value.code == ErrorCode.FORBIDDEN
    assert not Query.objects.exists()


def test_a_query_names_a_field_of_the_part(data_manager, casebook):
    with pytest.raises(ApplicationError) as info:
        services.query_raise(
            user=data_manager, patient=casebook, section="baseline", field="colour", text="?"
        )
    assert info.value.fields == {"field": ["'colour' is not a field of baseline."]}


def test_a_field_of_a_repeating_part_needs_its_record(data_manager, casebook):
    with pytest.raises(ApplicationError) as info:
        services.query_raise(
            user=data_manager, patient=casebook, section="adverse_events", field="grade", text="?"
        )
    assert info.value.fields == {"record": ["Name the record of this repeating part."]}


def test_a_record_of_another_patient_is_refused(data_manager, casebook, coordinator_a):
    from tests.builders import build_casebook

    other = build_casebook(coordinator_a)
    their_event = AdverseEvent.objects.get(patient=other)
    with pytest.raises(ApplicationError) as info:
        services.query_raise(
            user=data_manager,
            patient=casebook,
            section="adverse_events",
            record_id=their_event.pk,
            field="grade",
            text="?",
        )
    assert "record" in info.value.fields


def test_an_empty_question_is_refused_naming_the_field(data_manager, casebook):
    with pytest.raises(ApplicationError) as info:
        raise_on_weight(data_manager, casebook, text="   ")
    assert info.value.fields == {"text": ["Write the question or answer."]}


def test_queries_on_a_whole_part_and_on_the_casebook(data_manager, casebook):
    part = services.query_raise(
        user=data_manager, patient=casebook, section="adverse_events", text="Any other AE?"
    )
    whole = services.query_raise(user=data_manager, patient=casebook, text="Consent form?")
    assert (part.where, whole.where) == ("adverse_events", "casebook")


def test_identifier_values_are_not_copied_into_the_query(data_manager, casebook):
    query = services.query_raise(
        user=data_manager, patient=casebook, section="registration", field="mrn", text="Typo?"
    )
    assert query.value_at_raise == ""


def test_site_answers_with_a_message(data_manager, coordinator_a, casebook):
    query = raise_on_weight(data_manager, casebook)
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Chart says 65 kg.")
    query.refresh_from_db()
    assert query.status == Query.Status.ANSWERED
    assert query.answered_at is not None
    assert [m.kind for m in query.messages.all()] == ["raise", "answer"]


def test_site_corrects_the_value_through_the_registry_service(
    data_manager, coordinator_a, casebook
):
    query = raise_on_weight(data_manager, casebook)
    baseline = Baseline.objects.get(patient=casebook)
    services.query_answer(
        user=coordinator_a,
        query_id=query.pk,
        text="Typed 65 for 56.",
        correct=True,
        value="56",
        expected_version=baseline.version,
    )
    baseline.refresh_from_db()
    assert baseline.weight_kg == 56
    answer = query.messages.get(kind=QueryMessage.Kind.ANSWER)
    assert answer.detail == {
        "correction": {"field": "weight_kg", "old": "65.0", "new": "56.0", "version": 2}
    }
    # The change is in the field history with the query named in its reason.
    change = baseline.history.latest("history_date")
    assert change.history_change_reason == f"Query {query.pk}: Typed 65 for 56."
    assert change.history_user == coordinator_a


def test_an_invalid_correction_changes_nothing(data_manager, coordinator_a, casebook):
    query = raise_on_weight(data_manager, casebook)
    baseline = Baseline.objects.get(patient=casebook)
    with pytest.raises(ApplicationError) as info:
        services.query_answer(
            user=coordinator_a,
            query_id=query.pk,
            correct=True,
            value="900",
            expected_version=baseline.version,
        )
    assert "weight_kg" in info.value.fields
    query.refresh_from_db()
    assert query.status == Query.Status.OPEN
    assert Baseline.objects.get(patient=casebook).weight_kg == 65


def test_a_correction_of_a_locked_casebook_needs_an_unlock(
    data_manager, coordinator_a, investigator_a, casebook
):
    query = raise_on_weight(data_manager, casebook)
    services.query_close(user=data_manager, query_id=query.pk)
    registry_services.casebook_lock(
        user=investigator_a, patient=casebook, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
    )
    services.query_reopen(user=data_manager, query_id=query.pk, text="Source says 56 kg.")
    with pytest.raises(ApplicationError) as info:
        services.query_answer(
            user=coordinator_a,
            query_id=query.pk,
            correct=True,
            value="56",
            expected_version=Baseline.objects.get(patient=casebook).version,
        )
    assert info.value.code == ErrorCode.LOCKED
    # A plain answer is allowed on a locked casebook.
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Will correct after unlock.")
    assert Query.objects.get(pk=query.pk).status == Query.Status.ANSWERED


def test_another_centre_cannot_see_or_answer_the_query(data_manager, coordinator_b, casebook):
    query = raise_on_weight(data_manager, casebook)
    with pytest.raises(ApplicationError) as info:
        services.query_answer(user=coordinator_b, query_id=query.pk, text="Not ours.")
    assert info.value.code == ErrorCode.NOT_FOUND


def test_a_data_manager_does_not_answer_queries(data_manager, casebook):
    query = raise_on_weight(data_manager, casebook)
    with pytest.raises(ApplicationError) as info:
        services.query_answer(user=data_manager, query_id=query.pk, text="Self-answered.")
    assert info.value.code == ErrorCode.FORBIDDEN


def test_an_answered_query_is_closed_by_a_data_manager(data_manager, coordinator_a, casebook):
    query = raise_on_weight(data_manager, casebook)
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Correct as is.")
    with pytest.raises(ApplicationError) as info:
        services.query_close(user=coordinator_a, query_id=query.pk)
    assert info.value.code == ErrorCode.FORBIDDEN
    services.query_close(user=data_manager, query_id=query.pk, text="Accepted.")
    query.refresh_from_db()
    assert (query.status, query.closed_by) == (Query.Status.CLOSED, data_manager)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.QUERY_CLOSE).count() == 1


def test_a_closed_query_is_reopened_with_a_reason_and_answered_again(
    data_manager, coordinator_a, casebook
):
    query = raise_on_weight(data_manager, casebook)
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Correct as is.")
    services.query_close(user=data_manager, query_id=query.pk)
    with pytest.raises(ApplicationError) as info:
        services.query_reopen(user=data_manager, query_id=query.pk, text="")
    assert "text" in info.value.fields
    services.query_reopen(user=data_manager, query_id=query.pk, text="Chart says 56 kg.")
    query.refresh_from_db()
    assert (query.status, query.closed_at, query.closed_by) == (Query.Status.OPEN, None, None)
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Rechecked: 56 kg.")
    kinds = list(query.messages.values_list("kind", flat=True))
    assert kinds == ["raise", "answer", "close", "reopen", "answer"]


def test_an_answered_query_cannot_be_answered_twice(data_manager, coordinator_a, casebook):
    query = raise_on_weight(data_manager, casebook)
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Correct as is.")
    with pytest.raises(ApplicationError, match="only an open query can be answered"):
        services.query_answer(user=coordinator_a, query_id=query.pk, text="Again.")


def test_a_casebook_with_unresolved_queries_cannot_be_locked(
    data_manager, coordinator_a, investigator_a, casebook
):
    open_query = raise_on_weight(data_manager, casebook)
    answered = services.query_raise(
        user=data_manager, patient=casebook, section="adverse_events", text="Any other AE?"
    )
    services.query_answer(user=coordinator_a, query_id=answered.pk, text="None.")
    with pytest.raises(ApplicationError) as info:
        registry_services.casebook_lock(
            user=investigator_a, patient=casebook, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
        )
    assert info.value.fields["__all__"] == [
        f"query {open_query.pk} on Baseline › Weight (kg) is open",
        f"query {answered.pk} on Adverse events is answered",
    ]
    assert not Signature.objects.filter(patient=casebook).exists()
    services.query_close(user=data_manager, query_id=open_query.pk)
    services.query_close(user=data_manager, query_id=answered.pk)
    registry_services.casebook_lock(
        user=investigator_a, patient=casebook, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
    )
    casebook.refresh_from_db()
    assert casebook.is_locked


def test_queries_on_a_locked_casebook_may_be_raised(data_manager, investigator_a, casebook):
    registry_services.casebook_lock(
        user=investigator_a, patient=casebook, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
    )
    query = raise_on_weight(data_manager, casebook)
    assert query.status == Query.Status.OPEN
