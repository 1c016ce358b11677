# The audit trail moves from workorders to core: every app audits through it.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(verbose_name='time')),
                ('action', models.CharField(max_length=40, verbose_name='action')),
                ('object_type', models.CharField(max_length=40, verbose_name='object type')),
                ('object_id', models.CharField(max_length=40, verbose_name='object')),
                ('detail', models.JSONField(blank=True, default=dict, verbose_name='detail')),
                ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'audit entry',
                'verbose_name_plural': 'audit entries',
                'ordering': ['-at'],
                'indexes': [models.Index(fields=['object_type', 'object_id'], name='core_audit_object_idx')],
            },
        ),
    ]
