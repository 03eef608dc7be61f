# ExportJob and PseudonymKey now belong to the exchange app (exchange/migrations/0001).
# Only Django's model state changes: the tables, their rows and names stay as they are.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0003_locked_casebook_db_guard'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ExportJob'),
                migrations.DeleteModel(name='PseudonymKey'),
            ],
            database_operations=[],
        ),
    ]
