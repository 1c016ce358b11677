# Audit entries move to core.AuditEntry (rows copied, then the old table dropped).

from django.db import migrations


def copy_entries(apps, schema_editor):
    old = apps.get_model('workorders', 'AuditEntry')
    new = apps.get_model('core', 'AuditEntry')
    batch = []
    for e in old.objects.order_by('id').iterator():
        batch.append(new(at=e.at, user_id=e.user_id, action=e.action, object_type=e.object_type,
                         object_id=e.object_id, detail=e.detail))
        if len(batch) >= 1000:
            new.objects.bulk_create(batch)
            batch = []
    new.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    old = apps.get_model('workorders', 'AuditEntry')
    new = apps.get_model('core', 'AuditEntry')
    old.objects.bulk_create([old(at=e.at, user_id=e.user_id, action=e.action, object_type=e.object_type,
                                 object_id=e.object_id, detail=e.detail) for e in new.objects.order_by('id')])


class Migration(migrations.Migration):

    dependencies = [
        ('workorders', '0003_lean_indexes'),
        ('core', '0003_audit_entry'),
    ]

    operations = [
        migrations.RunPython(copy_entries, copy_back),
        migrations.DeleteModel(name='AuditEntry'),
    ]
