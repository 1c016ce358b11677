"""Spec D3.6b/c: on site a repair crew reports the fault point found and
the estimated restoration time (within 20 min), and a repair still going
4 h after arrival reports progress, then every 2 h. A database still on the
default repair life-cycle gets the two actions as a new life-cycle version,
and a new policy version adds the three limits to the current rules (orders
created before keep their versions). An edited repair type is left alone:
its administrator adds them when the center wants them."""

from django.db import migrations, models
from django.db.models import Max
from django.utils import timezone

from hotline.catalog.lifecycle import standard_lifecycle

NEW_RULES = [
    ("estimate", 20, "minutes", "locate", "estimate,resolve,cancel,merge", False),
    ("progress_first", 4, "hours", "arrive", "progress,resolve,cancel,merge", False),
    ("progress", 2, "hours", "progress", "progress,resolve,cancel,merge", True),
]


def field_progress(apps, schema_editor):
    BusinessType = apps.get_model("catalog", "BusinessType")
    LifecycleVersion = apps.get_model("catalog", "LifecycleVersion")
    PolicyVersion = apps.get_model("catalog", "PolicyVersion")
    TimeLimitRule = apps.get_model("catalog", "TimeLimitRule")
    bt = BusinessType.objects.filter(code="repair").first()
    old = standard_lifecycle(on_site=True, callback="always", merge=True)
    if bt is None or bt.lifecycle != old:
        return
    bt.lifecycle = standard_lifecycle(on_site=True, callback="always", merge=True, field_progress=True)
    bt.save(update_fields=["lifecycle"])
    now = timezone.now()
    latest = LifecycleVersion.objects.filter(business_type=bt).order_by("-number").first()
    LifecycleVersion.objects.create(business_type=bt, number=(latest.number + 1) if latest else 1, definition=bt.lifecycle,
                                    created_at=now)
    current = PolicyVersion.objects.filter(published_at__isnull=False).order_by("-number").first()
    if current is None:
        return
    rules = list(TimeLimitRule.objects.filter(version=current))
    if any(r.business_type_id == bt.pk and r.metric in {m for m, *_ in NEW_RULES} for r in rules):
        return
    number = (PolicyVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    version = PolicyVersion.objects.create(number=number, note="D3.6 field progress: estimate 20 min, progress 4 h then every 2 h")
    for rule in rules:
        rule.pk = None
        rule.version = version
    for metric, amount, unit, start_on, stop_on, repeat in NEW_RULES:
        rules.append(TimeLimitRule(version=version, business_type=bt, metric=metric, amount=amount, unit=unit,
                                   start_on=start_on, stop_on=stop_on, responsible="unit", repeat=repeat))
    TimeLimitRule.objects.bulk_create(rules)
    version.published_at = now
    version.save(update_fields=["published_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_inquiry_callback_always'),
    ]

    operations = [
        migrations.AlterField(
            model_name='timelimitrule',
            name='metric',
            field=models.CharField(choices=[('dispatch', 'Dispatch'), ('accept', 'Unit accepts'), ('redispatch', 'Re-dispatch after return'), ('arrival', 'Arrival on site'), ('restoration', 'Restoration'), ('contact', 'Contact the customer'), ('reply', 'Reply'), ('callback', 'Callback'), ('review', 'Center review'), ('estimate', 'Estimated restoration reported'), ('progress_first', 'First progress report of a long repair'), ('progress', 'Progress report')], max_length=20, verbose_name='metric'),
        ),
        migrations.RunPython(field_progress, migrations.RunPython.noop),
    ]
