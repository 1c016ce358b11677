"""catalog 0006: a database still on the default repair life-cycle gets the
D3.6 field-progress actions and limits as new versions; orders keep theirs."""

import importlib

import pytest
from django.apps import apps

from hotline.catalog.lifecycle import standard_lifecycle
from hotline.catalog.models import BusinessType, LifecycleVersion, PolicyVersion, TimeLimitRule
from hotline.catalog.services import current_policy_version

pytestmark = pytest.mark.django_db
migration = importlib.import_module("hotline.catalog.migrations.0006_field_progress")
NEW = {"estimate", "progress_first", "progress"}


def as_before(bt):
    """The database as the first defaults left it."""
    old = standard_lifecycle(on_site=True, callback="always", merge=True)
    BusinessType.objects.filter(pk=bt.pk).update(lifecycle=old)
    version = current_policy_version()
    TimeLimitRule.objects.filter(version__published_at__isnull=False, metric__in=NEW).delete()
    return version


@pytest.mark.rule("D3.6b", "D3.6c", "D0b")
def test_the_default_repair_type_gets_the_actions_and_limits_as_new_versions(world):
    bt = BusinessType.objects.get(code="repair")
    before = as_before(bt)
    lifecycles = LifecycleVersion.objects.filter(business_type=bt).count()
    migration.field_progress(apps, None)
    bt.refresh_from_db()
    actions = {t["action"] for t in bt.lifecycle["transitions"]}
    assert {"locate", "estimate"} <= actions
    assert LifecycleVersion.objects.filter(business_type=bt).count() == lifecycles + 1
    latest = PolicyVersion.objects.filter(published_at__isnull=False).order_by("-number").first()
    assert latest.number == before.number + 1
    assert set(latest.rules.filter(business_type=bt, metric__in=NEW).values_list("metric", flat=True)) == NEW
    # Every rule of the version before is carried over; the version before is untouched.
    assert latest.rules.count() == before.rules.count() + 3
    assert not before.rules.filter(metric__in=NEW).exists()
    migration.field_progress(apps, None)  # once only
    assert PolicyVersion.objects.filter(published_at__isnull=False).order_by("-number").first() == latest


def test_an_edited_repair_type_is_left_alone(world):
    bt = BusinessType.objects.get(code="repair")
    before = as_before(bt)
    edited = standard_lifecycle(on_site=True, callback="if_wanted", merge=True)
    BusinessType.objects.filter(pk=bt.pk).update(lifecycle=edited)
    migration.field_progress(apps, None)
    bt.refresh_from_db()
    assert bt.lifecycle == edited
    assert current_policy_version().number == before.number
