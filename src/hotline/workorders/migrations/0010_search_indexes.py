import django.db.models.functions.text
from django.db import migrations, models

from hotline.organisation.migrations_pg import TrigramIndex


class Migration(migrations.Migration):

    dependencies = [
        ('organisation', '0002_customerphone_tail'),
        ('workorders', '0009_estimated_restoration'),
    ]

    operations = [
        migrations.AddField(
            model_name='workorder',
            name='caller_phone_tail',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.text.Right('caller_phone', 4), output_field=models.CharField(max_length=4)),
        ),
        migrations.AddIndex(
            model_name='workorder',
            index=models.Index(fields=['caller_phone_tail', 'created_at'], name='wo_phone_tail_idx'),
        ),
        # Order search by an address fragment or part of the caller's name.
        TrigramIndex('workorders_workorder', 'address', 'wo_address_trgm'),
        TrigramIndex('workorders_workorder', 'caller_name', 'wo_caller_name_trgm'),
    ]
