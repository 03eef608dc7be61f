"""Controlled vocabularies read as clinicians write them, in every place they appear."""

from registry import choices as c
from registry.forms import AdverseEventForm


def test_every_adverse_event_term_is_labelled_with_its_ctcae_wording():
    for term in c.AeTerm:
        # The label starts with the stored CTCAE term, never a title-cased Python name.
        assert str(term.label).startswith(term.value), (term.name, term.label)
    assert c.AeTerm.ALT_INCREASED.label == "Alanine aminotransferase increased"
    assert c.AeTerm.OTHER.label == "Other, specify"
    assert c.AeTerm.TYPE_1_DIABETES.label == "Type 1 diabetes mellitus"


def test_the_form_lists_terms_alphabetically_with_other_last():
    labels = [str(label) for value, label in AdverseEventForm().fields["term"].choices if value]
    assert labels[-1] == "Other, specify"
    assert labels[:-1] == sorted(labels[:-1])


def test_terms_are_declared_alphabetically_with_other_last():
    # The API schema's enum and the SPSS value labels take the declaration order.
    values = [term.value for term in c.AeTerm]
    assert values[-1] == "Other, specify"
    assert values[:-1] == sorted(values[:-1])
