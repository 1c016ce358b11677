import django.db.models.functions.text
from django.db import migrations, models

from hotline.organisation.migrations_pg import TrigramIndex


class Migration(migrations.Migration):

    dependencies = [
        ('organisation', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='customerphone',
            name='tail',
            field=models.GeneratedField(db_index=True, db_persist=True, expression=django.db.models.functions.text.Right('number', 4), output_field=models.CharField(max_length=4)),
        ),
        # Customer lookup at intake by a fragment of the name or the address.
        TrigramIndex('organisation_customer', 'name', 'customer_name_trgm'),
        TrigramIndex('organisation_customer', 'address', 'customer_address_trgm'),
    ]
