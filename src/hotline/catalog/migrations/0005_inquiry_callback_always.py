"""Spec D1f: an inquiry not answered on the call is called back. The first
defaults made its callback optional; a database still on those defaults
gets the corrected life-cycle as a new version (orders created before keep
version 1). A type the administrator has edited is left alone."""

from django.db import migrations
from django.utils import timezone

from hotline.catalog.lifecycle import standard_lifecycle


def inquiry_callback_always(apps, schema_editor):
    BusinessType = apps.get_model("catalog", "BusinessType")
    LifecycleVersion = apps.get_model("catalog", "LifecycleVersion")
    bt = BusinessType.objects.filter(code="inquiry").first()
    old = standard_lifecycle(on_site=False, callback="if_wanted", answer_on_call=True)
    if bt is None or bt.callback != "if_wanted" or bt.lifecycle != old:
        return
    bt.callback = "always"
    bt.lifecycle = standard_lifecycle(on_site=False, callback="always", answer_on_call=True)
    bt.save(update_fields=["callback", "lifecycle"])
    latest = LifecycleVersion.objects.filter(business_type=bt).order_by("-number").first()
    LifecycleVersion.objects.create(business_type=bt, number=(latest.number + 1) if latest else 1, definition=bt.lifecycle,
                                    created_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0004_lifecycle_version_one"),
    ]

    operations = [
        migrations.RunPython(inquiry_callback_always, migrations.RunPython.noop),
    ]
