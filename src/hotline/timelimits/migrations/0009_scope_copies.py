"""The scope copies on clocks and notices (Clock.scope_unit): added, then
filled from each work order's center and holding unit."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for table in ("timelimits_clock", "timelimits_notice"):
            if vendor == "postgresql":
                cursor.execute(f"UPDATE {table} t SET scope_unit_id = o.scope_unit_id, holder_unit_id = o.assigned_unit_id "
                               f"FROM workorders_workorder o WHERE o.id = t.order_id")
            else:
                cursor.execute(f"UPDATE {table} SET "
                               f"scope_unit_id = (SELECT o.scope_unit_id FROM workorders_workorder o WHERE o.id = {table}.order_id), "
                               f"holder_unit_id = (SELECT o.assigned_unit_id FROM workorders_workorder o WHERE o.id = {table}.order_id) "
                               f"WHERE order_id IS NOT NULL")


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0008_handling_fields'),
        ('organisation', '0004_created_at_from_clock'),
        ('timelimits', '0008_lean_engine_indexes'),
        ('workorders', '0013_lean_engine_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='clock',
            name='holder_unit',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.unit', verbose_name='held by'),
        ),
        migrations.AddField(
            model_name='clock',
            name='scope_unit',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.unit', verbose_name='center scope'),
        ),
        migrations.AddField(
            model_name='notice',
            name='holder_unit',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.unit', verbose_name='held by'),
        ),
        migrations.AddField(
            model_name='notice',
            name='scope_unit',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.unit', verbose_name='center scope'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='clock',
            index=models.Index(condition=models.Q(('order__isnull', False), ('status', 'running')), fields=['scope_unit', 'due_at'], include=('warn_at', 'id'), name='clock_running_scope_idx'),
        ),
        migrations.AddIndex(
            model_name='clock',
            index=models.Index(condition=models.Q(('order__isnull', False), ('status', 'running')), fields=['holder_unit', 'due_at'], include=('warn_at', 'id'), name='clock_running_holder_idx'),
        ),
        migrations.AddIndex(
            model_name='notice',
            index=models.Index(condition=models.Q(('answered_at__isnull', True), ('kind', 'supervision'), ('order__isnull', False)), fields=['scope_unit', 'level'], include=('unit', 'id'), name='notice_open_scope_idx'),
        ),
        migrations.AddIndex(
            model_name='notice',
            index=models.Index(condition=models.Q(('answered_at__isnull', True), ('kind', 'supervision'), ('order__isnull', False)), fields=['holder_unit', 'level'], include=('unit', 'id'), name='notice_open_holder_idx'),
        ),
    ]
