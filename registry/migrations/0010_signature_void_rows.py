"""Voiding a signature adds a row (``SignatureVoid``) instead of filling columns of the
signature: both tables become strictly append-only on PostgreSQL, with no column-by-column
exception (21 CFR Part 11 §11.10(e), issue 13).

Existing voids move to the new table first; the signature's void columns are then dropped.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

NEW_TRIGGERS = """
DROP TRIGGER IF EXISTS registry_signature_append_only ON registry_signature;
DROP FUNCTION IF EXISTS registry_signature_void_only();
CREATE TRIGGER registry_signature_append_only BEFORE UPDATE OR DELETE ON registry_signature
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
CREATE TRIGGER registry_signaturevoid_append_only BEFORE UPDATE OR DELETE
    ON registry_signaturevoid FOR EACH ROW EXECUTE FUNCTION registry_refuse_change();
"""

# Going back restores 0009's rule, whose signature trigger allowed exactly one void.
_0009 = importlib.import_module("registry.migrations.0009_append_only_records")
OLD_TRIGGERS = f"""
DROP TRIGGER IF EXISTS registry_signaturevoid_append_only ON registry_signaturevoid;
DROP TRIGGER IF EXISTS registry_signature_append_only ON registry_signature;
{_0009.FUNCTIONS}
CREATE TRIGGER registry_signature_append_only BEFORE UPDATE OR DELETE ON registry_signature
    FOR EACH ROW EXECUTE FUNCTION registry_signature_void_only();
"""


def _postgresql_only(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


def move_voids_to_rows(apps, schema_editor):
    signature_model = apps.get_model("registry", "Signature")
    void_model = apps.get_model("registry", "SignatureVoid")
    void_model.objects.bulk_create(
        void_model(
            signature_id=signature.pk,
            voided_by_id=signature.voided_by_id,
            voided_at=signature.voided_at,
            reason=signature.void_reason,
        )
        for signature in signature_model.objects.filter(voided_at__isnull=False)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0009_append_only_records"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SignatureVoid",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("voided_at", models.DateTimeField()),
                ("reason", models.TextField()),
                (
                    "signature",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="void",
                        to="registry.signature",
                    ),
                ),
                (
                    "voided_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="signature_voids",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-voided_at"]},
        ),
        migrations.AddConstraint(
            model_name="signaturevoid",
            constraint=models.CheckConstraint(
                condition=~models.Q(reason=""), name="signature_void_has_reason"
            ),
        ),
        migrations.RunPython(move_voids_to_rows, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="signature", name="one_valid_signature_per_casebook"
        ),
        migrations.RemoveConstraint(model_name="signature", name="voided_signature_has_reason"),
        migrations.RemoveField(model_name="signature", name="void_reason"),
        migrations.RemoveField(model_name="signature", name="voided_at"),
        migrations.RemoveField(model_name="signature", name="voided_by"),
        migrations.RunPython(
            _postgresql_only(NEW_TRIGGERS), _postgresql_only(OLD_TRIGGERS)
        ),
    ]
