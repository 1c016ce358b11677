"""Clocks and notices on any subject: ``subject_type`` + ``subject_id``;
the work-order key stays for work orders (filled into subject_id here)."""

from django.db import migrations, models
from django.db.models import F, Q


def fill_subjects(apps, schema_editor):
    for name in ("Clock", "Notice"):
        model = apps.get_model("timelimits", name)
        model.objects.filter(subject_id__isnull=True).update(subject_id=F("order_id"), subject_type="work_order")


class Migration(migrations.Migration):
    dependencies = [
        ("timelimits", "0004_lean_indexes"),
        ("workorders", "0008_ordercontact"),
        ("catalog", "0002_initial"),
    ]

    operations = [
        migrations.AddField("clock", "subject_type", models.CharField(default="work_order", max_length=30, verbose_name="subject type")),
        migrations.AddField("clock", "subject_id", models.BigIntegerField(null=True, verbose_name="subject")),
        migrations.AddField("notice", "subject_type", models.CharField(default="work_order", max_length=30, verbose_name="subject type")),
        migrations.AddField("notice", "subject_id", models.BigIntegerField(null=True, verbose_name="subject")),
        migrations.RunPython(fill_subjects, migrations.RunPython.noop, elidable=True),
        migrations.AlterField("clock", "subject_id", models.BigIntegerField(verbose_name="subject")),
        migrations.AlterField("notice", "subject_id", models.BigIntegerField(verbose_name="subject")),
        migrations.AlterField("clock", "order", models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.PROTECT,
                                                                  related_name="clocks", to="workorders.workorder")),
        migrations.AlterField("notice", "order", models.ForeignKey(blank=True, null=True, on_delete=models.PROTECT,
                                                                   related_name="notices", to="workorders.workorder")),
        migrations.AlterField("clock", "rule", models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.PROTECT,
                                                                 related_name="+", to="catalog.timelimitrule")),
        migrations.AddConstraint("clock", models.UniqueConstraint(
            condition=Q(order__isnull=True), fields=("subject_type", "subject_id", "metric", "round"), name="clock_subject_unique")),
        migrations.AddConstraint("clock", models.CheckConstraint(
            condition=Q(order__isnull=True) | Q(subject_type="work_order", subject_id=F("order_id")), name="clock_order_is_subject")),
        migrations.AddConstraint("notice", models.CheckConstraint(
            condition=Q(order__isnull=True) | Q(subject_type="work_order", subject_id=F("order_id")), name="notice_order_is_subject")),
        migrations.AddIndex("notice", models.Index(
            condition=Q(order__isnull=True), fields=["subject_type", "subject_id"], name="notice_subject_idx")),
    ]
