# The audit trail refuses UPDATE and DELETE in the database (PostgreSQL).

from django.db import migrations

from hotline.core.migration_ops import AppendOnlyTable


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_audit_entry'),
    ]

    operations = [
        AppendOnlyTable('core_auditentry'),
    ]
