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
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM registry_patient WHERE id = OLD.patient_id AND casebook_status = 'locked'
    ) THEN
        RAISE EXCEPTION '{MESSAGE} (patient id %)', OLD.patient_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM registry_patient WHERE id = NEW.patient_id AND casebook_status = 'locked'
    ) THEN
        RAISE EXCEPTION '{MESSAGE} (patient id %)', NEW.patient_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
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


def _postgres_forward() -> list[str]:
    statements = [POSTGRES_FUNCTIONS]
    for table in CRF_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_locked_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION registry_refuse_locked_crf();"
        )
    statements.append(
        "CREATE TRIGGER registry_patient_locked_guard BEFORE UPDATE OR DELETE ON registry_patient "
        "FOR EACH ROW EXECUTE FUNCTION registry_refuse_locked_patient();"
    )
    return statements


def _postgres_backward() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {t}_locked_guard ON {t};" for t in CRF_TABLES]
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
