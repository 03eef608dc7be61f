# ExportJob and PseudonymKey, moved from the registry app (registry/migrations/0002 created
# their tables). The state is created here, the tables are kept with their names and rows;
# the content types move too, so that grants of the export_identified permission survive.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED_MODELS = ('exportjob', 'pseudonymkey')


def move_content_types(apps, schema_editor):
    content_type = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    content_type.objects.using(db).filter(app_label='registry', model__in=MOVED_MODELS).update(
        app_label='exchange'
    )


def restore_content_types(apps, schema_editor):
    content_type = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    content_type.objects.using(db).filter(app_label='exchange', model__in=MOVED_MODELS).update(
        app_label='registry'
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('registry', '0004_exports_move_to_exchange'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PseudonymKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('recipient', models.CharField(blank=True, help_text='Named recipient; empty for a one-export key.', max_length=120)),
                        ('key', models.CharField(editable=False, help_text='Hex HMAC key. Secret.', max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'registry_pseudonymkey',
                    },
                ),
                migrations.CreateModel(
                    name='ExportJob',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('pending', 'Queued'), ('running', 'Running'), ('done', 'Ready'), ('failed', 'Failed')], default='pending', max_length=10)),
                        ('centers', models.JSONField(default=list, help_text='Centre codes in scope.')),
                        ('locked_only', models.BooleanField(default=True, help_text='Only locked casebooks.')),
                        ('formats', models.JSONField(default=list, help_text='Optional formats: xlsx, sav, redcap.')),
                        ('identified', models.BooleanField(default=False)),
                        ('reason', models.TextField(blank=True, help_text='Required for an identified export.')),
                        ('date_mode', models.CharField(choices=[('relative', 'Days from the 2L start'), ('shifted', 'Shifted by a per-patient offset')], default='relative', max_length=10)),
                        ('recipient', models.CharField(blank=True, max_length=120)),
                        ('coarsen_centers', models.BooleanField(default=False)),
                        ('file_path', models.CharField(blank=True, max_length=500)),
                        ('file_name', models.CharField(blank=True, max_length=200)),
                        ('file_size', models.BigIntegerField(blank=True, null=True)),
                        ('file_sha256', models.CharField(blank=True, max_length=64)),
                        ('row_counts', models.JSONField(blank=True, default=dict)),
                        ('file_hashes', models.JSONField(blank=True, default=dict)),
                        ('risk', models.JSONField(blank=True, default=dict)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('error', models.TextField(blank=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='export_jobs', to=settings.AUTH_USER_MODEL)),
                        ('pseudonym_key', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='jobs', to='exchange.pseudonymkey')),
                    ],
                    options={
                        'db_table': 'registry_exportjob',
                        'ordering': ['-created_at', '-pk'],
                        'permissions': [('export_identified', 'Can export identified (non-de-identified) data')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='pseudonymkey',
                    constraint=models.UniqueConstraint(condition=models.Q(('recipient', ''), _negated=True), fields=('recipient',), name='pseudonym_key_per_recipient'),
                ),
                migrations.AddConstraint(
                    model_name='exportjob',
                    constraint=models.CheckConstraint(condition=models.Q(('identified', False), models.Q(('reason', ''), _negated=True), _connector='OR'), name='export_identified_has_reason'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
