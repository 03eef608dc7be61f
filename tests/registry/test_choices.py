"""Controlled vocabularies read as clinicians write them, in every place they appear."""

import re

from django.utils import translation

from registry import choices as c
from registry.forms import AdverseEventForm

# Terms of the published CTCAE v5.0 (27 Nov 2017) that the registry offers, typed here from
# the published list, not from registry.choices.
CTCAE_V5_TERMS = {
    "Adrenal insufficiency",
    "Alanine aminotransferase increased",
    "Alopecia",
    "Anemia",
    "Anorexia",
    "Arthralgia",
    "Aspartate aminotransferase increased",
    "Colitis",
    "Constipation",
    "Cough",
    "Diarrhea",
    "Dyspnea",
    "Erythema multiforme",
    "Fatigue",
    "Fever",
    "Hyperthyroidism",
    "Hypophysitis",
    "Hypothyroidism",
    "Insomnia",
    "Myocarditis",
    "Nausea",
    "Neutrophil count decreased",
    "Platelet count decreased",
    "Pneumonitis",
    "Pruritus",
    "Pulmonary fibrosis",
    "Rash maculo-papular",
    "Vomiting",
}
# CTCAE v5.0 system organ classes whose "<SOC> - Other, specify" term the registry uses.
CTCAE_V5_OTHER_SPECIFY = {
    "Endocrine disorders - Other, specify",
    "Hepatobiliary disorders - Other, specify",
    "Metabolism and nutrition disorders - Other, specify",
    "Respiratory, thoracic and mediastinal disorders - Other, specify",
}


def english_labels() -> list[str]:
    with translation.override("en-gb"):
        return [str(term.label) for term in c.AeTerm]


def test_every_adverse_event_term_is_labelled_with_an_official_ctcae_v5_term():
    for term, label in zip(c.AeTerm, english_labels(), strict=True):
        if label in CTCAE_V5_TERMS or label == "Other, specify":
            assert label == term.value, term.name
            continue
        # A term CTCAE v5.0 lacks: its organ class's "Other, specify" naming the stored term.
        soc_other, _, specified = label.partition(": ")
        assert soc_other in CTCAE_V5_OTHER_SPECIFY, label
        assert specified == term.value, label


def test_no_label_carries_an_unofficial_gloss_or_a_python_name():
    labels = english_labels()
    assert not [label for label in labels if "(" in label]  # "Fever (pyrexia)" was not official
    with translation.override("en-gb"):
        assert c.AeTerm.ALT_INCREASED.label == "Alanine aminotransferase increased"
        assert c.AeTerm.AST_INCREASED.label == "Aspartate aminotransferase increased"
        assert c.AeTerm.RASH_MACULO_PAPULAR.label == "Rash maculo-papular"
        assert c.AeTerm.ANOREXIA.label == "Anorexia"
        assert c.AeTerm.OTHER.label == "Other, specify"


def test_terms_ctcae_lacks_keep_their_stored_codes_under_their_organ_class():
    with translation.override("en-gb"):
        assert c.AeTerm("Thyroiditis").label == "Endocrine disorders - Other, specify: Thyroiditis"
        assert c.AeTerm("Hepatitis").label == "Hepatobiliary disorders - Other, specify: Hepatitis"
        assert c.AeTerm("Type 1 diabetes mellitus").label == (
            "Metabolism and nutrition disorders - Other, specify: Type 1 diabetes mellitus"
        )
        assert c.AeTerm("Interstitial lung disease").label == (
            "Respiratory, thoracic and mediastinal disorders - Other, specify: "
            "Interstitial lung disease"
        )
        assert c.AeTerm("Acute interstitial pneumonitis").label == (
            "Respiratory, thoracic and mediastinal disorders - Other, specify: "
            "Acute interstitial pneumonitis"
        )


def test_terms_are_declared_alphabetically_by_label_with_other_last():
    # The API schema's enum, the SPSS value labels and the form take the declaration order.
    labels = english_labels()
    assert labels[-1] == "Other, specify"
    assert labels[:-1] == sorted(labels[:-1])


def test_the_form_lists_terms_in_the_declared_order_in_every_language():
    declared = [term.value for term in c.AeTerm]
    for language in ("en-gb", "zh-hans"):
        with translation.override(language):
            offered = [value for value, _label in AdverseEventForm().fields["term"].choices]
        assert offered == ["", *declared], language


def test_chinese_term_labels_keep_the_official_english_term_beside_the_chinese_name():
    english = english_labels()
    with translation.override("zh-hans"):
        chinese = [str(term.label) for term in c.AeTerm]
        assert c.AeTerm.PNEUMONITIS.label == "肺炎（Pneumonitis）"
        assert (
            c.AeTerm.HEPATITIS.label
            == "肝炎（Hepatobiliary disorders - Other, specify: Hepatitis）"
        )
    for official, label in zip(english, chinese, strict=True):
        name, bracketed = label[: -len(official) - 2], label[-len(official) - 2 :]
        assert bracketed == f"（{official}）", label
        assert re.search(r"[\u4e00-\u9fff]", name), label
