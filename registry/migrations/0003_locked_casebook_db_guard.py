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
DECLARE
    pid bigint;
BEGIN
    -- Statement level with transition tables: one check per statement (a COPY of a whole
    -- batch is checked once), a primary-key lookup per patient it touches. Only the id is
    -- in the WHERE clause so no plan can prefer the status index (which, planned while the
    -- table looked empty, scanned every locked patient per row and grew with the table).
    -- Nested IFs: a transition table exists only for its events.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        FOR pid IN SELECT DISTINCT patient_id FROM old_rows LOOP
            IF (SELECT casebook_status FROM registry_patient WHERE id = pid) = 'locked' THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
            END IF;
        END LOOP;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        FOR pid IN SELECT DISTINCT patient_id FROM new_rows LOOP
            IF (SELECT casebook_status FROM registry_patient WHERE id = pid) = 'locked' THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
-- The plan is cached per session and may be made while registry_patient looks empty:
-- insist on the primary-key index rather than a scan of the table per patient.
SET enable_seqscan = off;

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
    dependencies = [("registry", "0002_exports")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": _postgres_forward}),
            _run({"postgresql": _postgres_backward}),
        )
    ]
