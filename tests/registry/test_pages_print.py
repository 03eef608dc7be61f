"""The printable casebook: scoped like every patient page, identifiers only for those who may
see them, and the running header of every printed page written as safe CSS."""

from django.urls import reverse

from quality import services as quality_services
from registry.views.printable import css_string, page_counter_css
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD


def _print(client, user, patient):
    client.force_login(user)
    return client.get(reverse("registry:casebook_print", args=[patient.study_id]))


def test_other_centre_gets_404_for_the_printable_casebook(client, coordinator_a, coordinator_b):
    patient = build_casebook(coordinator_a)
    assert _print(client, coordinator_b, patient).status_code == 404


def test_printable_casebook_holds_signature_queries_and_audit_trail(
    client, coordinator_a, investigator_a, data_manager
):
    patient = build_casebook(coordinator_a, complete=True)
    quality_services.query_raise(
        user=data_manager,
        patient=patient,
        section="baseline",
        field="weight_kg",
        text="Weight looks low for the height.",
    )
    response = _print(client, coordinator_a, patient)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Weight looks low for the height." in html
    assert "Audit trail" in html and "Registered" in html
    assert "Not signed." in html
    assert patient.mrn in html


def test_pi_printout_has_no_identifiers(client, coordinator_a, investigator_a, pi_user):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    html = _print(client, pi_user, patient).content.decode()
    assert "Signed by" in html
    assert patient.mrn not in html
    assert patient.study_id in html


def test_page_header_stylesheet_names_study_patient_and_counts_pages(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    html = _print(client, coordinator_a, patient).content.decode()
    css_url = reverse("registry:casebook_print_css", args=[patient.study_id])
    assert f'<link rel="stylesheet" href="{css_url}">' in html
    response = client.get(css_url)
    css = response.content.decode()
    assert response["Content-Type"].startswith("text/css")
    assert response["Cache-Control"] == "no-store, private"
    assert '@top-left { content: "Atezolizumab beyond first-line progression in ' in css
    assert f'· {patient.study_id}"' in css
    assert '@top-right { content: "Printed ' in css and ' UTC by alice"' in css
    assert '"Page " counter(page) " of " counter(pages) ""' in css


def test_other_centre_gets_404_for_the_page_header_stylesheet(client, coordinator_a, coordinator_b):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_b)
    url = reverse("registry:casebook_print_css", args=[patient.study_id])
    assert client.get(url).status_code == 404


def test_css_string_cannot_close_the_style_element_or_the_string():
    assert css_string('a"b\\c</style>') == '"a\\"b\\\\c\\3c /style>"'


def test_page_counter_reads_page_n_of_m():
    assert page_counter_css() == '"Page " counter(page) " of " counter(pages) ""'


def test_printout_of_a_screen_failure_names_the_failed_criterion(client, coordinator_a):
    patient = register_patient(coordinator_a, inc_extensive_stage=False)
    html = _print(client, coordinator_a, patient).content.decode()
    assert "Screen failure" in html
    assert "Inclusion 2: extensive stage (answered no)" in html
    assert "2. Baseline" not in html  # no casebook parts for a screen failure
