# Drops redundant single-column indexes (see WorkOrder.Meta); hand-edited so
# that no foreign-key constraint is dropped and re-validated.

import django.db.models.deletion
from django.db import migrations, models

from hotline.core.migration_ops import drop_field_indexes


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_initial'),
        ('organisation', '0001_initial'),
        ('timelimits', '0003_clock_clock_running_due_idx'),
        ('workorders', '0002_remove_workorder_wo_assigned_state_idx_and_more'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='clock',
                    name='order',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='clocks', to='workorders.workorder'),
                ),
                migrations.AlterField(
                    model_name='clock',
                    name='responsible_unit',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='clocks', to='organisation.unit'),
                ),
                migrations.AlterField(
                    model_name='clock',
                    name='rule',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.timelimitrule'),
                ),
            ],
            database_operations=[drop_field_indexes('timelimits', [('clock', 'order'), ('clock', 'responsible_unit'), ('clock', 'rule')])],
        ),
    ]
