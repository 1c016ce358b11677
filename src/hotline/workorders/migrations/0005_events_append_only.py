# Work-order events refuse UPDATE and DELETE in the database (PostgreSQL).

from django.db import migrations

from hotline.core.migration_ops import AppendOnlyTable


class Migration(migrations.Migration):

    dependencies = [
        ('workorders', '0004_move_audit_to_core'),
    ]

    operations = [
        AppendOnlyTable('workorders_workorderevent'),
    ]
