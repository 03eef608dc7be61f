"""The query pages (list, CSV, detail with answer / close / re-open, raise) and the markers
the registry's pages show through the quality_tags library.

The casebook (tests.builders.build_casebook, centre AAA) weighs 65 kg, stored as 65.0; its
baseline starts at version 1 and the part is complete, so a correction needs a reason,
which the service writes from the query ("Query <id>: <answer>").
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from quality import services
from quality.models import Query
from registry.models import AdverseEvent, Baseline, Patient
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD
from tests.registry.pages_support import field_block, snapshot

LIST = reverse("quality:query_list")
NEW = reverse("quality:query_new")


def detail(query: Query) -> str:
    return reverse("quality:query_detail", args=[query.pk])


def raise_on_weight(data_manager, patient, text="Weight 65 kg: please check the chart.") -> Query:
    return services.query_raise(
        user=data_manager, patient=patient, section="baseline", field="weight_kg", text=text
    )


def page(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def html(response) -> str:
    return response.content.decode()


def listed_ids(response) -> list[int]:
    return [row["query"].pk for row in response.context["rows"]]


@pytest.fixture
def casebook_b(coordinator_b):
    return build_casebook(coordinator_b)


@pytest.fixture
def query(data_manager, casebook):
    return raise_on_weight(data_manager, casebook)


@pytest.fixture
def query_b(data_manager, casebook_b):
    return raise_on_weight(data_manager, casebook_b, text="Centre B weight?")


def post_answer(client, user, query, **data):
    client.force_login(user)
    return client.post(detail(query), {"action": "answer", **data})


def correction(patient, value) -> dict[str, str]:
    version = Baseline.objects.get(patient=patient).version
    return {"answer-correct": "on", "answer-value": value, "answer-version": str(version)}


# -- the list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "data_manager", "pi_user"])
def test_list_answers_200_to_every_role_that_sees_the_query(request, who, client, query):
    response = page(client, request.getfixturevalue(who), LIST)
    assert response.status_code == 200
    assert listed_ids(response) == [query.pk]


def test_list_shows_site_staff_their_own_centre_only(client, coordinator_b, query, query_b):
    response = page(client, coordinator_b, LIST)
    assert listed_ids(response) == [query_b.pk]
    assert query.patient.study_id not in html(response)


def test_list_shows_a_data_manager_every_centre(client, data_manager, query, query_b):
    assert sorted(listed_ids(page(client, data_manager, LIST))) == [query.pk, query_b.pk]


def test_list_row_names_the_patient_the_field_and_the_last_message(client, data_manager, query):
    text = html(page(client, data_manager, LIST))
    assert reverse("registry:casebook", args=["AAA-0001"]) in text
    assert "Baseline › Weight (kg)" in text
    assert "Weight 65 kg: please check the chart." in text


def test_list_filters_by_status(client, data_manager, coordinator_a, casebook):
    open_query = raise_on_weight(data_manager, casebook)
    answered = services.query_raise(
        user=data_manager, patient=casebook, section="adverse_events", text="Any other AE?"
    )
    services.query_answer(user=coordinator_a, query_id=answered.pk, text="None.")
    assert listed_ids(page(client, data_manager, LIST, status="answered")) == [answered.pk]
    assert listed_ids(page(client, data_manager, LIST, status="open")) == [open_query.pk]
    unresolved = listed_ids(page(client, data_manager, LIST, status="unresolved"))
    assert sorted(unresolved) == [open_query.pk, answered.pk]


def test_list_filters_by_centre_and_patient(client, data_manager, query, query_b):
    assert listed_ids(page(client, data_manager, LIST, center="BBB")) == [query_b.pk]
    assert listed_ids(page(client, data_manager, LIST, patient="aaa-0001")) == [query.pk]


def test_site_staff_get_no_centre_filter(client, coordinator_a, query):
    response = page(client, coordinator_a, LIST)
    assert "center" not in response.context["filters"].fields


def test_list_filters_by_age(client, data_manager, casebook):
    old = raise_on_weight(data_manager, casebook)
    Query.objects.filter(pk=old.pk).update(raised_at=timezone.now() - timedelta(days=10))
    new = raise_on_weight(data_manager, casebook, text="And the height?")
    assert listed_ids(page(client, data_manager, LIST, older_than="7")) == [old.pk]
    assert sorted(listed_ids(page(client, data_manager, LIST, older_than="0"))) == sorted(
        [old.pk, new.pk]
    )


def test_list_shows_days_open(client, data_manager, query):
    Query.objects.filter(pk=query.pk).update(raised_at=timezone.now() - timedelta(days=3, hours=1))
    assert page(client, data_manager, LIST).context["rows"][0]["days_open"] == 3


def test_list_filters_by_raiser(client, data_manager, query):
    from tests.factories import UserFactory

    other = UserFactory(username="moni", role="data_manager", center=None)
    theirs = raise_on_weight(other, query.patient, text="Second opinion.")
    assert listed_ids(page(client, data_manager, LIST, raised_by="moni")) == [theirs.pk]
    assert listed_ids(page(client, data_manager, LIST, raised_by="dora")) == [query.pk]


def test_an_invalid_filter_is_shown_and_not_applied(client, data_manager, query):
    response = page(client, data_manager, LIST, older_than="soon")
    assert response.status_code == 200
    assert "Enter a whole number." in html(response)
    assert listed_ids(response) == [query.pk]


def test_list_is_paginated_by_25(client, data_manager, casebook):
    for n in range(26):
        raise_on_weight(data_manager, casebook, text=f"Check {n}")
    first = page(client, data_manager, LIST)
    assert len(first.context["rows"]) == 25
    assert "Page 1 of 2" in html(first)
    assert len(page(client, data_manager, LIST, page="2").context["rows"]) == 1


def test_list_reads_a_fixed_number_of_queries_whatever_its_length(client, data_manager, casebook):
    raise_on_weight(data_manager, casebook)
    client.force_login(data_manager)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for n in range(4):
        raise_on_weight(data_manager, casebook, text=f"Check {n}")
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(LIST).context["rows"]) == 5
    assert len(five) == len(one)


def test_list_shows_the_centre_metrics(client, data_manager, coordinator_a, casebook, query_b):
    answered = raise_on_weight(data_manager, casebook)
    Query.objects.filter(pk=answered.pk).update(raised_at=timezone.now() - timedelta(days=2))
    services.query_answer(user=coordinator_a, query_id=answered.pk, text="Checked.")
    raise_on_weight(data_manager, casebook, text="Still open.")
    metrics = page(client, data_manager, LIST).context["metrics"]
    assert [(m["center"], m["open"], m["answered"], m["closed"]) for m in metrics] == [
        ("AAA", 1, 1, 0),
        ("BBB", 1, 0, 0),
    ]
    assert metrics[0]["median_days_to_answer"] == 2.0


# -- the CSV ----------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_csv_has_the_header_and_the_visible_rows_only(client, coordinator_a, query, query_b):
    rows = csv_rows(page(client, coordinator_a, LIST, format="csv"))
    assert rows[0] == [
        "id",
        "study_id",
        "centre",
        "section",
        "record_id",
        "field",
        "status",
        "raised_by",
        "raised_at",
        "days_open",
        "last_message",
    ]
    assert [(r[0], r[1], r[5], r[6], r[7]) for r in rows[1:]] == [
        (str(query.pk), "AAA-0001", "weight_kg", "open", "dora")
    ]


def test_csv_follows_the_filters(client, data_manager, query, query_b):
    rows = csv_rows(page(client, data_manager, LIST, format="csv", center="BBB"))
    assert [r[1] for r in rows[1:]] == ["BBB-0001"]


def test_csv_writes_a_message_that_looks_like_a_formula_as_text(client, data_manager, casebook):
    raise_on_weight(data_manager, casebook, text='=HYPERLINK("http://x")')
    rows = csv_rows(page(client, data_manager, LIST, format="csv"))
    assert rows[1][-1] == '\'=HYPERLINK("http://x")'


# -- the detail page --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "data_manager", "pi_user"])
def test_detail_shows_the_thread_and_the_value_at_raise(request, who, client, query):
    response = page(client, request.getfixturevalue(who), detail(query))
    assert response.status_code == 200
    text = html(response)
    assert "Weight 65 kg: please check the chart." in text
    assert '<dd id="value-at-raise">65.0</dd>' in text
    assert '<dd id="value-now">65.0</dd>' in text


def test_detail_of_another_centres_query_is_404(client, coordinator_b, query):
    assert page(client, coordinator_b, detail(query)).status_code == 404


@pytest.mark.parametrize("action", ["answer", "close", "reopen"])
def test_posting_to_another_centres_query_is_404_and_changes_nothing(
    action, client, coordinator_b, query
):
    client.force_login(coordinator_b)
    before = snapshot()
    response = client.post(detail(query), {"action": action, f"{action}-text": "Not ours."})
    assert response.status_code == 404
    assert snapshot() == before
    assert Query.objects.get(pk=query.pk).status == Query.Status.OPEN


def test_site_staff_see_the_answer_form_and_not_close(client, coordinator_a, query):
    response = page(client, coordinator_a, detail(query))
    assert response.context["answer_form"] is not None
    assert response.context["close_form"] is None
    assert response.context["reopen_form"] is None


def test_a_data_manager_sees_close_and_not_answer(client, data_manager, query):
    response = page(client, data_manager, detail(query))
    assert response.context["answer_form"] is None
    assert response.context["close_form"] is not None
    # An open query cannot be re-opened: the form is offered once it is answered or closed.
    assert response.context["reopen_form"] is None


def test_the_corrected_value_input_is_the_fields_own(client, coordinator_a, data_manager, casebook):
    on_smoking = services.query_raise(
        user=data_manager, patient=casebook, section="baseline", field="smoking", text="Never?"
    )
    on_date = services.query_raise(
        user=data_manager, patient=casebook, section="baseline", field="diagnosis_date", text="?"
    )
    smoking = field_block(html(page(client, coordinator_a, detail(on_smoking))), "answer-value")
    assert 'type="radio" name="answer-value" value="never"' in smoking
    assert 'value="former" class="inline" id="id_answer-value_1" checked' in smoking
    when = field_block(html(page(client, coordinator_a, detail(on_date))), "answer-value")
    assert 'type="date" name="answer-value" value="2020-01-10"' in when


def test_a_query_on_a_whole_part_is_answered_with_words_only(client, coordinator_a, data_manager):
    patient = build_casebook(coordinator_a)
    part = services.query_raise(
        user=data_manager, patient=patient, section="adverse_events", text="Any other AE?"
    )
    form = page(client, coordinator_a, detail(part)).context["answer_form"]
    assert sorted(form.fields) == ["text"]


def test_coordinator_answers_with_a_message(client, coordinator_a, query):
    response = post_answer(client, coordinator_a, query, **{"answer-text": "Chart says 65 kg."})
    assert response.status_code == 302
    assert response["Location"] == detail(query)
    query.refresh_from_db()
    assert query.status == Query.Status.ANSWERED
    assert Baseline.objects.get(patient=query.patient).weight_kg == 65


def test_coordinator_answers_with_a_correction(client, coordinator_a, query):
    data = {"answer-text": "Typed 65 for 56.", **correction(query.patient, "56")}
    assert post_answer(client, coordinator_a, query, **data).status_code == 302
    baseline = Baseline.objects.get(patient=query.patient)
    assert (baseline.weight_kg, baseline.version) == (56, 2)
    text = html(page(client, coordinator_a, detail(query)))
    assert "Corrected: <del>65.0</del> → <ins>56.0</ins>" in text
    assert '<dd id="value-now">56.0</dd>' in text
    assert '<dd id="value-at-raise">65.0</dd>' in text


def test_an_empty_answer_is_400_with_the_message_and_changes_nothing(client, coordinator_a, query):
    before = snapshot()
    response = post_answer(client, coordinator_a, query, **{"answer-text": "  "})
    assert response.status_code == 400
    assert "Write the question or answer." in field_block(html(response), "answer-text")
    assert snapshot() == before
    assert Query.objects.get(pk=query.pk).status == Query.Status.OPEN


def test_an_invalid_corrected_value_is_400_next_to_the_value(client, coordinator_a, query):
    before = snapshot()
    response = post_answer(client, coordinator_a, query, **correction(query.patient, "900"))
    assert response.status_code == 400
    block = field_block(html(response), "answer-value")
    assert "Ensure this value is less than or equal to 300." in block
    assert snapshot() == before
    assert Baseline.objects.get(patient=query.patient).weight_kg == 65
    assert Query.objects.get(pk=query.pk).status == Query.Status.OPEN


def test_a_correction_from_a_stale_page_is_refused(client, coordinator_a, query):
    data = correction(query.patient, "56")
    data["answer-version"] = "0"
    response = post_answer(client, coordinator_a, query, **data)
    assert response.status_code == 412
    assert "Reload the form" in html(response)
    assert Baseline.objects.get(patient=query.patient).weight_kg == 65


def test_a_correction_of_a_locked_casebook_is_409_and_changes_nothing(
    client, coordinator_a, data_manager, investigator_a, casebook
):
    query = raise_on_weight(data_manager, casebook)
    services.query_close(user=data_manager, query_id=query.pk)
    lock_casebook(casebook, investigator_a, TEST_PASSWORD)
    services.query_reopen(user=data_manager, query_id=query.pk, text="Source says 56 kg.")
    response = post_answer(client, coordinator_a, query, **correction(casebook, "56"))
    assert response.status_code == 409
    assert "is locked" in html(response)
    assert Baseline.objects.get(patient=casebook).weight_kg == 65


def test_a_data_manager_may_not_answer(client, data_manager, query):
    response = post_answer(client, data_manager, query, **{"answer-text": "Self-answered."})
    assert response.status_code == 403
    assert Query.objects.get(pk=query.pk).status == Query.Status.OPEN


def test_data_manager_closes_an_answered_query(client, coordinator_a, data_manager, query):
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Correct as is.")
    client.force_login(data_manager)
    response = client.post(detail(query), {"action": "close", "close-text": "Accepted."})
    assert response.status_code == 302
    query.refresh_from_db()
    assert (query.status, query.closed_by) == (Query.Status.CLOSED, data_manager)
    assert list(query.messages.values_list("kind", "text")) == [
        ("raise", "Weight 65 kg: please check the chart."),
        ("answer", "Correct as is."),
        ("close", "Accepted."),
    ]


def test_a_coordinator_may_not_close(client, coordinator_a, query):
    client.force_login(coordinator_a)
    response = client.post(detail(query), {"action": "close"})
    assert response.status_code == 403
    assert Query.objects.get(pk=query.pk).status == Query.Status.OPEN


def test_reopening_without_a_reason_is_400_and_changes_nothing(client, data_manager, query):
    services.query_close(user=data_manager, query_id=query.pk)
    client.force_login(data_manager)
    before = snapshot()
    response = client.post(detail(query), {"action": "reopen", "reopen-text": ""})
    assert response.status_code == 400
    assert "Write the question or answer." in field_block(html(response), "reopen-text")
    assert snapshot() == before
    assert Query.objects.get(pk=query.pk).status == Query.Status.CLOSED


def test_data_manager_reopens_a_closed_query_with_a_reason(client, data_manager, query):
    services.query_close(user=data_manager, query_id=query.pk)
    client.force_login(data_manager)
    response = client.post(detail(query), {"action": "reopen", "reopen-text": "Chart: 56 kg."})
    assert response.status_code == 302
    query.refresh_from_db()
    assert (query.status, query.closed_at) == (Query.Status.OPEN, None)


def test_closing_a_closed_query_is_400_with_the_message(client, data_manager, query):
    services.query_close(user=data_manager, query_id=query.pk)
    client.force_login(data_manager)
    response = client.post(detail(query), {"action": "close"})
    assert response.status_code == 400
    assert f"Query {query.pk} is already closed." in html(response)


# -- raising a query --------------------------------------------------------------------------


def raise_params(patient, **extra) -> dict[str, str]:
    return {"patient": patient.study_id, "section": "baseline", "field": "weight_kg", **extra}


def test_raise_form_is_prefilled_and_shows_the_current_value(client, data_manager, casebook):
    response = page(client, data_manager, NEW, **raise_params(casebook))
    assert response.status_code == 200
    text = html(response)
    assert '<strong id="current-value">65.0</strong>' in text
    assert '<option value="weight_kg" selected>Weight (kg)</option>' in text


def test_data_manager_raises_a_query_through_the_form(client, data_manager, casebook):
    client.force_login(data_manager)
    url = f"{NEW}?patient={casebook.study_id}&section=baseline&field=weight_kg"
    response = client.post(url, {"field": "weight_kg", "text": "65 kg, really?"})
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:casebook", args=["AAA-0001"]) + "#baseline"
    query = Query.objects.get()
    assert (query.section, query.record_id, query.field) == ("baseline", None, "weight_kg")
    assert query.messages.get().text == "65 kg, really?"


def test_data_manager_raises_a_query_on_a_record_of_a_repeating_part(
    client, data_manager, casebook
):
    event = AdverseEvent.objects.get(patient=casebook)
    client.force_login(data_manager)
    url = f"{NEW}?patient={casebook.study_id}&section=adverse_events&record={event.pk}"
    assert client.post(url, {"field": "grade", "text": "Grade 1?"}).status_code == 302
    query = Query.objects.get()
    assert (query.section, query.record_id, query.field) == ("adverse_events", event.pk, "grade")


def test_data_manager_raises_a_query_on_the_casebook(client, data_manager, casebook):
    client.force_login(data_manager)
    response = client.post(f"{NEW}?patient={casebook.study_id}", {"text": "Consent form?"})
    assert response.status_code == 302
    assert Query.objects.get().where == "casebook"


def test_raising_an_empty_question_is_400_and_changes_nothing(client, data_manager, casebook):
    client.force_login(data_manager)
    before = snapshot()
    url = f"{NEW}?patient={casebook.study_id}&section=baseline&field=weight_kg"
    response = client.post(url, {"field": "weight_kg", "text": ""})
    assert response.status_code == 400
    assert "Write the question or answer." in field_block(html(response), "text")
    assert snapshot() == before
    assert not Query.objects.exists()


def test_raise_form_for_another_centres_patient_is_404(client, coordinator_b, casebook):
    assert page(client, coordinator_b, NEW, **raise_params(casebook)).status_code == 404
    url = f"{NEW}?patient={casebook.study_id}"
    assert client.post(url, {"text": "Probe"}).status_code == 404
    assert not Query.objects.exists()


def test_raise_form_for_an_unknown_patient_is_404(client, data_manager):
    assert page(client, data_manager, NEW, patient="ZZZ-0001").status_code == 404


def test_raise_form_with_a_record_of_another_patient_is_404(
    client, data_manager, coordinator_a, casebook
):
    other_event = AdverseEvent.objects.get(patient=build_casebook(coordinator_a))
    params = {"patient": casebook.study_id, "section": "adverse_events", "record": other_event.pk}
    assert page(client, data_manager, NEW, **params).status_code == 404


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "pi_user", "admin_user"])
def test_raise_form_is_refused_to_other_roles(request, who, client, casebook):
    user = request.getfixturevalue(who)
    assert page(client, user, NEW, **raise_params(casebook)).status_code == 403
    response = client.post(f"{NEW}?patient={casebook.study_id}", {"text": "Mine?"})
    assert response.status_code == 403
    assert not Query.objects.exists()


# -- markers on the registry's pages -----------------------------------------------------------


def casebook_page(client, user, patient) -> str:
    response = page(client, user, reverse("registry:casebook", args=[patient.study_id]))
    assert response.status_code == 200
    return html(response)


def test_casebook_shows_its_unresolved_count_linking_to_the_list(client, coordinator_a, query):
    text = casebook_page(client, coordinator_a, query.patient)
    assert "1 unresolved query" in text
    assert f"{LIST}?patient=AAA-0001&amp;status=unresolved" in text


def test_casebook_marks_the_questioned_field_with_a_link_to_the_query(client, coordinator_a, query):
    text = casebook_page(client, coordinator_a, query.patient)
    weight = text.split('data-field="weight_kg"', 1)[1].split("</div>", 1)[0]
    assert f'class="qmark" href="{detail(query)}"' in weight
    height = text.split('data-field="height_cm"', 1)[1].split("</div>", 1)[0]
    assert "qmark" not in height


def test_casebook_marks_a_questioned_record_and_part(client, coordinator_a, data_manager, casebook):
    event = AdverseEvent.objects.get(patient=casebook)
    on_record = services.query_raise(
        user=data_manager,
        patient=casebook,
        section="adverse_events",
        record_id=event.pk,
        field="action_taken",  # not a column of the table: the row's marker counts it
        text="Action?",
    )
    on_part = services.query_raise(
        user=data_manager, patient=casebook, section="follow_up", text="Later contact?"
    )
    text = casebook_page(client, coordinator_a, casebook)
    row = text.split(f'data-record="adverse_events-{event.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'href="{detail(on_record)}"' in row
    follow_up = text.split('id="follow-up"', 1)[1].split("</header>", 1)[0]
    assert f'href="{detail(on_part)}"' in follow_up


def test_casebook_markers_read_one_query_whatever_their_number(client, data_manager, casebook):
    url = reverse("registry:casebook", args=[casebook.study_id])
    client.force_login(data_manager)
    with CaptureQueriesContext(connection) as none:
        client.get(url)
    raise_on_weight(data_manager, casebook)
    services.query_raise(user=data_manager, patient=casebook, section="follow_up", text="?")
    services.query_raise(user=data_manager, patient=casebook, text="Consent?")
    with CaptureQueriesContext(connection) as three:
        assert "3 unresolved queries" in html(client.get(url))
    assert len(three) == len(none)
    assert sum("quality_query" in q["sql"] for q in three.captured_queries) == 1


def test_a_closed_query_leaves_no_marker(client, coordinator_a, data_manager, query):
    services.query_close(user=data_manager, query_id=query.pk)
    text = casebook_page(client, coordinator_a, query.patient)
    assert "qmark" not in text
    assert "No unresolved queries" in text


def test_data_manager_gets_a_raise_link_per_field(client, data_manager, casebook):
    text = casebook_page(client, data_manager, casebook)
    weight = text.split('data-field="weight_kg"', 1)[1].split("</div>", 1)[0]
    link = f"{NEW}?patient=AAA-0001&amp;section=baseline&amp;field=weight_kg"
    assert f'class="qraise" href="{link}"' in weight


def test_site_staff_get_no_raise_links(client, coordinator_a, casebook):
    assert "qraise" not in casebook_page(client, coordinator_a, casebook)


def test_crf_form_marks_the_questioned_field(client, coordinator_a, query):
    client.force_login(coordinator_a)
    response = client.get(reverse("registry:part_edit", args=["AAA-0001", "baseline"]))
    text = html(response)
    assert f'class="qmark" href="{detail(query)}"' in field_block(text, "weight_kg")
    assert "qmark" not in field_block(text, "height_cm")


def test_patient_list_counts_open_queries(client, coordinator_a, data_manager, casebook):
    raise_on_weight(data_manager, casebook)
    raise_on_weight(data_manager, casebook, text="And the height?")
    register_patient(coordinator_a)
    text = html(page(client, coordinator_a, reverse("registry:patient_list")))
    first = text.split('data-open-queries="AAA-0001">', 1)[1].split("</td>", 1)[0]
    second = text.split('data-open-queries="AAA-0002">', 1)[1].split("</td>", 1)[0]
    assert ">? 2</a>" in first
    assert ">0<" in second


def test_patient_list_counts_in_one_query_whatever_the_page_size(client, coordinator_a):
    url = reverse("registry:patient_list")
    client.force_login(coordinator_a)
    register_patient(coordinator_a)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(4):
        register_patient(coordinator_a)
    with CaptureQueriesContext(connection) as five:
        client.get(url)
    assert Patient.objects.count() == 5
    assert len(five) == len(one)
    assert sum("quality_query" in q["sql"] for q in five.captured_queries) == 1


def test_nav_links_to_the_queries(client, coordinator_a):
    text = html(page(client, coordinator_a, reverse("registry:patient_list")))
    assert f'<a href="{LIST}">Queries</a>' in text


def test_each_step_of_a_query_is_in_the_patients_history_page(
    client, data_manager, coordinator_a, query
):
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Chart says 65 kg.")
    services.query_close(user=data_manager, query_id=query.pk)
    text = html(
        page(client, coordinator_a, reverse("registry:history", args=[query.patient.study_id]))
    )
    assert text.count(f"Query {query.pk} (Baseline: Weight") == 3
    for action in ("Query raised", "Query answered", "Query closed"):
        assert action in text
