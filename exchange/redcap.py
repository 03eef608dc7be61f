"""REDCap-compatible files: the 18-column data dictionary and a flat records CSV.

One instrument per CRF part; assessments, adverse events and follow-up are repeating
instruments. Field names carry a per-form prefix because REDCap variable names are
unique across a project (``start_date`` exists in first and second line). Choice fields
use numeric codes 1..n (REDCap's convention; raw codes such as "Other, specify" are not
valid REDCap codes); the five metastasis yes/no fields become one checkbox field
(``bl_mets___1`` … ``bl_mets___5``).
"""

from __future__ import annotations

from exchange.cells import neutralise
from exchange.tables import Column, Table

DICTIONARY_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
PREFIX = {
    "registration": "reg",
    "baseline": "bl",
    "first_line": "l1",
    "assessments": "ta",
    "second_line": "l2",
    "adverse_events": "ae",
    "follow_up": "fu",
}
METS_CHECKBOX = [
    ("mets_brain", "Brain"),
    ("mets_liver", "Liver"),
    ("mets_bone", "Bone"),
    ("mets_adrenal", "Adrenal"),
    ("mets_other", "Other"),
]
SYSTEM_COLUMNS = [
    "record_id",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
]
_SKIP = {"study_id", "center", "instance"}


class RedcapLayout:
    """Field list and row builders for one export's tables."""

    def __init__(self, tables: list[Table]) -> None:
        self.tables = tables
        self.fields: list[tuple[Table, Column, str]] = []  # (table, column, redcap name)
        for table in tables:
            for col in table.columns:
                if col.name in _SKIP or col.type == "label":
                    continue
                if table.name == "baseline" and col.name in dict(METS_CHECKBOX):
                    continue
                self.fields.append((table, col, f"{PREFIX[table.name]}_{col.name}"))
        self.header = list(SYSTEM_COLUMNS)
        for table in tables:
            self.header += [name for _, _, name in self._fields_of(table)]
            if table.name == "baseline":
                self.header += [f"bl_mets___{i}" for i in range(1, len(METS_CHECKBOX) + 1)]
            self.header.append(f"{table.name}_complete")
        self.position = {name: i for i, name in enumerate(self.header)}
        # Per table: (source column index, target position, code → 1..n or None), built once
        # because rows_for runs for every record of the study.
        self._plans = {}
        for table in tables:
            index = {name: i for i, name in enumerate(table.header)}
            plan = []
            for _, col, name in self._fields_of(table):
                # Keyed by the code as the writer passes it, after neutralise (which leaves
                # every code of the CRF's choices as it is).
                codes = (
                    {neutralise(code): i for i, (code, _) in enumerate(col.choices, 1)}
                    if col.type == "code"
                    else None
                )
                plan.append((index[col.name], self.position[name], codes))
            if table.name == "baseline":
                for i, (field_name, _) in enumerate(METS_CHECKBOX, 1):
                    plan.append((index[field_name], self.position[f"bl_mets___{i}"], None))
            self._plans[table.name] = (plan, self.position[f"{table.name}_complete"])

    def _fields_of(self, table: Table) -> list[tuple[Table, Column, str]]:
        return [f for f in self.fields if f[0] is table]

    def dictionary_rows(self) -> list[list[str]]:
        rows = [self._row("record_id", "registration", "text", "Study id (pseudonym)", "", "")]
        for table in self.tables:
            for _, col, name in self._fields_of(table):
                rows.append(self._field_row(table, col, name))
            if table.name == "baseline":
                choices = " | ".join(
                    f"{i}, {label}" for i, (_, label) in enumerate(METS_CHECKBOX, 1)
                )
                rows.append(
                    self._row(
                        "bl_mets",
                        "baseline",
                        "checkbox",
                        "Metastatic sites at baseline",
                        choices,
                        "",
                    )
                )
        return rows

    def _row(self, name, form, ftype, label, choices, validation, note="", ident=""):
        row = [""] * len(DICTIONARY_HEADER)
        row[0], row[1], row[3], row[4], row[5] = name, form, ftype, label, choices
        row[6], row[7], row[10] = note, validation, ident
        return row

    def _field_row(self, table: Table, col: Column, name: str) -> list[str]:
        ident = "y" if col.deid.startswith("none (identified") and col.model else ""
        note = " ".join(x for x in (col.unit, col.deid) if x)
        label = str(col.meaning)[:200]
        if col.type == "code":
            choices = " | ".join(f"{i}, {lab}" for i, (_, lab) in enumerate(col.choices, 1))
            return self._row(name, table.name, "dropdown", label, choices, "", note, ident)
        if col.type == "0/1":
            return self._row(name, table.name, "yesno", label, "", "", note, ident)
        validation = {"integer": "integer", "number": "number", "date": "date_ymd"}.get(
            col.type, ""
        )
        return self._row(name, table.name, "text", label, "", validation, note, ident)

    def rows_for(
        self,
        table: Table,
        values: list,
        study_id: str,
        dag: str,
        complete: bool,
        instance: int | None,
        *,
        into: list | None = None,
    ) -> list:
        """The REDCap row of one record of ``table`` from its tidy row ``values``.

        ``into``: the record's row of the non-repeating instruments so far, filled in
        place (each instrument has its own columns), so they share one row per record.
        Values are taken as they are: the writer passes tidy rows already neutralised.
        """
        row: list = [None] * len(self.header) if into is None else into
        row[0] = study_id
        if table.repeating:
            row[1], row[2] = table.name, instance
        row[3] = dag
        plan, complete_at = self._plans[table.name]
        for source, target, codes in plan:
            value = values[source]
            if codes is not None and value is not None and value != "":
                value = codes[value]
            row[target] = value
        row[complete_at] = 2 if complete else 0
        return row


def dag_name(center_label: str) -> str:
    """REDCap DAG unique names are lower-case letters, digits and underscores."""
    return "".join(ch if ch.isalnum() else "_" for ch in center_label.lower())
