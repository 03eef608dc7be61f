"""Every stored field has an explicit export decision, so a new field cannot leak by default."""

from exchange.fieldmap import DECISIONS, FIELD_MAP, IDENTIFIER
from registry.models import CRF_MODELS, Patient

MODELS = (Patient, *CRF_MODELS)


def test_every_concrete_field_of_patient_and_crf_models_has_an_export_decision():
    missing = [
        f"{model.__name__}.{f.name}"
        for model in MODELS
        for f in model._meta.concrete_fields
        if f.name not in FIELD_MAP.get(model, {})
    ]
    assert missing == []


def test_field_map_names_no_field_the_models_do_not_have():
    stale = [
        f"{model.__name__}.{name}"
        for model, rules in FIELD_MAP.items()
        for name in rules
        if name not in {f.name for f in model._meta.concrete_fields}
    ]
    assert stale == []


def test_model_identifier_fields_are_all_decided_as_identifiers():
    wrong = [
        f"{model.__name__}.{name}"
        for model in MODELS
        for name in model.identifier_fields
        if FIELD_MAP[model][name].decision != IDENTIFIER
    ]
    assert wrong == []


def test_every_decision_is_one_of_the_known_kinds():
    used = {rule.decision for rules in FIELD_MAP.values() for rule in rules.values()}
    assert used <= DECISIONS
