# Drops redundant single-column indexes (see WorkOrder.Meta); hand-edited so
# that no foreign-key constraint is dropped and re-validated.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from hotline.core.migration_ops import drop_field_indexes


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_initial'),
        ('organisation', '0001_initial'),
        ('workorders', '0002_remove_workorder_wo_assigned_state_idx_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='workorder',
            name='wo_area_state_idx',
        ),
        migrations.AddIndex(
            model_name='workorder',
            index=models.Index(condition=models.Q(('master__isnull', True), models.Q(('state__in', ['closed', 'merged', 'cancelled']), _negated=True)), fields=['service_area', 'created_at'], name='wo_area_open_idx'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='idempotencykey',
                    name='user',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='assigned_unit',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='assigned_orders', to='organisation.unit', verbose_name='handling unit'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='business_type',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='catalog.businesstype', verbose_name='business type'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='customer',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='organisation.customer', verbose_name='customer'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='owner',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='owned_orders', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='policy_version',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, to='catalog.policyversion', verbose_name='time-limit policy'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='scope_path',
                    field=models.CharField(max_length=255),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='scope_unit',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='scoped_orders', to='organisation.unit', verbose_name='center scope'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='service_area',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, to='organisation.servicearea', verbose_name='service area'),
                ),
                migrations.AlterField(
                    model_name='workorder',
                    name='sub_class',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, to='catalog.subclass', verbose_name='sub-class'),
                ),
                migrations.AlterField(
                    model_name='workorderevent',
                    name='actor_unit',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.unit'),
                ),
                migrations.AlterField(
                    model_name='workorderevent',
                    name='order',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='workorders.workorder'),
                ),
            ],
            database_operations=[drop_field_indexes('workorders', [('idempotencykey', 'user'), ('workorder', 'assigned_unit'), ('workorder', 'business_type'), ('workorder', 'customer'), ('workorder', 'owner'), ('workorder', 'policy_version'), ('workorder', 'scope_path'), ('workorder', 'scope_unit'), ('workorder', 'service_area'), ('workorder', 'sub_class'), ('workorderevent', 'actor_unit'), ('workorderevent', 'order')])],
        ),
    ]
