"""How a cell becomes a field value: codes or labels, yes/no, ISO dates or date cells."""

from datetime import date, datetime

import pytest

from exchange.imports.columns import CellError, layout_by_name, parse, parse_missing_code


def _column(sheet: str, name: str):
    return next(f for f in layout_by_name()[sheet].fields if f.name == name)


def test_choice_takes_the_code_or_the_label_in_any_case():
    sex = _column("registration", "sex")
    assert [parse(sex, v) for v in ("F", "female", "Male")] == ["F", "F", "M"]
    with pytest.raises(CellError, match="'X' is not one of the allowed values"):
        parse(sex, "X")


def test_dates_are_iso_text_or_date_cells():
    column = _column("baseline", "diagnosis_date")
    assert parse(column, "2020-01-10") == date(2020, 1, 10)
    assert parse(column, datetime(2020, 1, 10, 0, 0)) == date(2020, 1, 10)
    with pytest.raises(CellError, match="not a date"):
        parse(column, "10.01.2020")


def test_yes_no_and_numbers():
    mets = _column("baseline", "mets_brain")
    assert [parse(mets, v) for v in (1, "0", "Yes", "no", True)] == [True, False, True, False, True]
    ecog = _column("baseline", "ecog")
    assert parse(ecog, 2.0) == 2
    for bad in ("2.5", "Infinity", "NaN", "two"):
        with pytest.raises(CellError, match="not a whole number"):
            parse(ecog, bad)
    with pytest.raises(CellError, match="not a number"):
        parse(_column("baseline", "weight_kg"), "Infinity")


def test_blank_is_empty_text_or_none():
    assert parse(_column("baseline", "smoking"), "  ") == ""
    assert parse(_column("baseline", "ecog"), None) is None


def test_mrn_typed_as_a_number_keeps_its_digits():
    assert parse(_column("registration", "mrn"), 12345.0) == "12345"


def test_missing_data_code_by_code_or_label():
    assert parse_missing_code("Not done") == "not_done"
    assert parse_missing_code("") == ""
    with pytest.raises(CellError, match="not a missing-data code"):
        parse_missing_code("lost")
