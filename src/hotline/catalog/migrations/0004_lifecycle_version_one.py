from django.db import migrations
from django.utils import timezone


def version_one(apps, schema_editor):
    """Every existing business type gets its life-cycle as version 1."""
    BusinessType = apps.get_model("catalog", "BusinessType")
    LifecycleVersion = apps.get_model("catalog", "LifecycleVersion")
    now = timezone.now()
    for bt in BusinessType.objects.all():
        if not LifecycleVersion.objects.filter(business_type=bt).exists():
            LifecycleVersion.objects.create(business_type=bt, number=1, definition=bt.lifecycle, created_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0003_rule_validation_lifecycle_versions"),
    ]

    operations = [
        migrations.RunPython(version_one, migrations.RunPython.noop),
    ]
