"""The export page speaks the registry's spelling ("Centres") and is built from its styles."""

from django.urls import reverse


def test_export_page_says_centres_and_uses_the_registry_form_styles(client, pi_user):
    client.force_login(pi_user)
    html = client.get(reverse("exports:list")).content.decode()
    assert "Centers" not in html
    assert '<legend class="label">Centres</legend>' in html
    assert 'class="card"' in html and 'class="export-form crf"' in html
