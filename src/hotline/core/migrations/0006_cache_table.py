# The shared cache (login throttling, API rate limits) lives in a database
# table; `migrate` alone now leaves an installation that works, so a fresh
# install that skipped `createcachetable` does not answer 500s.

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_outbox_periodic'),
    ]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
    ]
