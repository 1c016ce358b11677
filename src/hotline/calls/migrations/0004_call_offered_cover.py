# The offer-time index of call records covers what the KPI report counts
# (PostgreSQL; elsewhere a plain index): a month of a provincial center is
# read from the index alone instead of the table (issue 10's bench).

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0003_desk_escalation'),
        ('contacts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='call',
            index=models.Index(fields=['offered_at', 'queue'], include=('id', 'source', 'status', 'wait_s', 'talk_s', 'hold_s', 'wrapup_s', 'ring_s', 'ring_no_answer', 'survey_answer'), name='call_offered_cover_idx'),
        ),
        migrations.RemoveIndex(
            model_name='call',
            name='call_offered_idx',
        ),
    ]
