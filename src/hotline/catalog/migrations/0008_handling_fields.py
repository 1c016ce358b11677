"""Handling records (issue 11): the items a unit records when it resolves
and replies (a repair's fault cause, measures and restoration time; a
complaint's findings, handling, responsibility and the customer's
acceptance; …), declared per business type. A database whose types were
installed before gets the national defaults for each seeded type that has
no items yet, on the actions its life-cycle has; a type the administrator
has given items is left alone. A new database gets them from
``install_defaults`` after migrating."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

from hotline.catalog.defaults import handling_field_rows


def default_handling_fields(apps, schema_editor):
    BusinessType = apps.get_model("catalog", "BusinessType")
    HandlingField = apps.get_model("catalog", "HandlingField")
    for bt in BusinessType.objects.all():
        if HandlingField.objects.filter(business_type=bt).exists():
            continue
        transitions = (bt.lifecycle or {}).get("transitions") or []
        actions = {t.get("action") for t in transitions if isinstance(t, dict)}
        HandlingField.objects.bulk_create([HandlingField(business_type=bt, **row) for row in handling_field_rows(bt.code)
                                           if row["action"] in actions])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_verbose_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='HandlingField',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(choices=[('resolve', 'Resolved'), ('reply', 'Reply')], default='reply', max_length=20, verbose_name='asked on')),
                ('code', models.SlugField(help_text="The item's key in the record and the API (letters, digits, _ and -), e.g. customer_opinion", max_length=40, verbose_name='code')),
                ('label', models.CharField(help_text='As the unit and the callback agent read it, e.g. 故障原因', max_length=60, verbose_name='label')),
                ('kind', models.CharField(choices=[('text', 'Text'), ('choice', 'Choice from a list'), ('datetime', 'Date and time'), ('boolean', 'Yes or no')], default='text', max_length=10, verbose_name='kind')),
                ('choices', models.JSONField(blank=True, default=list, help_text='A choice only: list of [code, label], e.g. [["tree", "树障"], ["lightning", "雷击"]]', verbose_name='choices')),
                ('required', models.BooleanField(default=True, verbose_name='required')),
                ('max_length', models.PositiveSmallIntegerField(default=500, help_text='A text only: at most this many characters', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(4000)], verbose_name='longest text')),
                ('action_time', models.BooleanField(default=False, help_text="A date and time only: the time the action itself happened (a repair's restoration: the crew's reported completion time, D3.6d); left empty it is the time of recording", verbose_name='time of the action')),
                ('hint', models.CharField(blank=True, default='', max_length=200, verbose_name='hint')),
                ('active', models.BooleanField(default=True, verbose_name='active')),
                ('sort_order', models.PositiveSmallIntegerField(default=0, verbose_name='sort order')),
                ('business_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='handling_fields', to='catalog.businesstype', verbose_name='business type')),
            ],
            options={
                'verbose_name': 'handling-record item',
                'verbose_name_plural': 'handling-record items',
                'ordering': ['business_type', 'action', 'sort_order', 'id'],
                'constraints': [models.UniqueConstraint(fields=('business_type', 'code'), name='handling_field_code_unique', violation_error_message='this business type already has an item with this code')],
            },
        ),
        migrations.RunPython(default_handling_fields, migrations.RunPython.noop),
    ]
