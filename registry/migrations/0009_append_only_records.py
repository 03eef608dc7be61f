"""Append-only records on PostgreSQL: signatures, audit events, section completions and the
field history can be inserted, never changed or deleted, even with raw SQL or a shell
(21 CFR Part 11 §11.10(e): audit trails that cannot be altered).

One exception, checked column by column: a valid signature may be voided once (its void
columns go from empty to filled, nothing else changes), which is how an unlock records that
the signature no longer stands. Like the locked-casebook guard (0003), PostgreSQL only; on
SQLite the services are the only writers. TRUNCATE, which test databases are emptied with,
is not a row event and stays possible for the database owner.
"""

from django.db import migrations

APPEND_ONLY_TABLES = (
    "registry_auditevent",
    "registry_sectioncompletion",
    "registry_historicalpatient",
    "registry_historicalbaseline",
    "registry_historicalfirstlinetherapy",
    "registry_historicaltumourassessment",
    "registry_historicalsecondlinetherapy",
    "registry_historicaladverseevent",
    "registry_historicalfollowup",
)
MESSAGE = "is append-only: rows can be added, never changed or deleted"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION registry_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% {MESSAGE}', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION registry_signature_void_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.voided_at IS NULL AND NEW.voided_at IS NOT NULL
       AND NEW.voided_by_id IS NOT NULL AND NEW.void_reason <> ''
       AND NEW.id = OLD.id AND NEW.patient_id = OLD.patient_id
       AND NEW.signed_by_id = OLD.signed_by_id AND NEW.signed_at = OLD.signed_at
       AND NEW.meaning = OLD.meaning THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'registry_signature {MESSAGE} (a valid signature may only be voided once)'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _forward() -> list[str]:
    statements = [FUNCTIONS]
    for table in APPEND_ONLY_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();"
        )
    statements.append(
        "CREATE TRIGGER registry_signature_append_only BEFORE UPDATE OR DELETE "
        "ON registry_signature FOR EACH ROW EXECUTE FUNCTION registry_signature_void_only();"
    )
    return statements


def _backward() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};" for table in APPEND_ONLY_TABLES
    ]
    statements += [
        "DROP TRIGGER IF EXISTS registry_signature_append_only ON registry_signature;",
        "DROP FUNCTION IF EXISTS registry_refuse_change();",
        "DROP FUNCTION IF EXISTS registry_signature_void_only();",
    ]
    return statements


def _run(statements_for):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements_for():
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_ae_term_labels")]

    operations = [migrations.RunPython(_run(_forward), _run(_backward))]
