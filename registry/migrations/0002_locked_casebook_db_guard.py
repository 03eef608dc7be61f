"""A database guard behind the model and service checks: rows of a locked casebook cannot
be inserted, updated or deleted, even by ``QuerySet.update``, raw SQL or a shell.

Triggers on every CRF table refuse the write when the patient's casebook is locked; on the
patient table they refuse an update that leaves a locked casebook locked (unlocking, which
changes the status, stays possible) and the deletion of a locked casebook.

PostgreSQL only (production and CI). Not on SQLite, the embedded default: Django empties
SQLite test databases with DELETE rather than TRUNCATE, which row triggers would refuse,
and SQLite's table rebuilds in later migrations would silently drop them. There the model
layer (``CasebookRecord.save``/``delete``) is the guard.
"""

from django.db import migrations

CRF_TABLES = (
    "registry_baseline",
    "registry_firstlinetherapy",
    "registry_tumourassessment",
    "registry_secondlinetherapy",
    "registry_adverseevent",
    "registry_followup",
)
MESSAGE = "casebook is locked and read-only; a data manager must unlock it"

POSTGRES_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION registry_refuse_locked_crf() RETURNS trigger AS $$
BEGIN
    -- Statement level with transition tables: one join per statement (a COPY of 100,000
    -- rows is checked once), not one lookup per row.
    -- Nested IFs: a transition table exists only for its events, and PL/pgSQL plans a
    -- query when it first runs it.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF EXISTS (
            SELECT 1 FROM old_rows o JOIN registry_patient p ON p.id = o.patient_id
            WHERE p.casebook_status = 'locked'
        ) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF EXISTS (
            SELECT 1 FROM new_rows n JOIN registry_patient p ON p.id = n.patient_id
            WHERE p.casebook_status = 'locked'
        ) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION registry_refuse_locked_patient() RETURNS trigger AS $$
BEGIN
    IF OLD.casebook_status = 'locked' AND (TG_OP = 'DELETE' OR NEW.casebook_status = 'locked') THEN
        RAISE EXCEPTION '{MESSAGE} (%)', OLD.study_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
# A trigger with transition tables may have one event only, hence three per table.
CRF_TRIGGERS = (
    ("ins", "INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("upd", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("del", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
)


def _postgres_forward() -> list[str]:
    statements = [POSTGRES_FUNCTIONS]
    for table in CRF_TABLES:
        for suffix, event, referencing in CRF_TRIGGERS:
            statements.append(
                f"CREATE TRIGGER {table}_locked_guard_{suffix} AFTER {event} ON {table} "
                f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_locked_crf();"
            )
    statements.append(
        "CREATE TRIGGER registry_patient_locked_guard BEFORE UPDATE OR DELETE ON registry_patient "
        "FOR EACH ROW EXECUTE FUNCTION registry_refuse_locked_patient();"
    )
    return statements


def _postgres_backward() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS {table}_locked_guard_{suffix} ON {table};"
        for table in CRF_TABLES
        for suffix, _event, _referencing in CRF_TRIGGERS
    ]
    statements += [
        "DROP TRIGGER IF EXISTS registry_patient_locked_guard ON registry_patient;",
        "DROP FUNCTION IF EXISTS registry_refuse_locked_crf();",
        "DROP FUNCTION IF EXISTS registry_refuse_locked_patient();",
    ]
    return statements


def _run(statements_for):
    def run(apps, schema_editor):
        statements = statements_for.get(schema_editor.connection.vendor)
        for statement in statements() if statements else []:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": _postgres_forward}),
            _run({"postgresql": _postgres_backward}),
        )
    ]
