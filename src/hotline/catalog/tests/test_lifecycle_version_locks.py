"""Recording a type's life-cycle version happens inside an order's create,
the first time a process needs it. It must not hold up the other creates of
that type: their foreign-key checks on the type's row (FOR KEY SHARE) would
wait for it while it waits for their day's number counter, a deadlock that
a web server's first concurrent creates met."""

import psycopg
import pytest
from django.db import connection

from hotline.catalog import services
from hotline.catalog.models import BusinessType

pytestmark = pytest.mark.django_db


def _other_connection() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(host=s.get("HOST") or "127.0.0.1", port=s.get("PORT") or 5432, user=s.get("USER") or "postgres",
                           password=s.get("PASSWORD") or None, dbname=s["NAME"], autocommit=True)


def _key_share_blocked(bt_id: int) -> bool:
    with _other_connection() as other:
        other.execute("SET lock_timeout = '300ms'")
        try:
            other.execute("SELECT 1 FROM catalog_businesstype WHERE id = %s FOR KEY SHARE", [bt_id])
        except psycopg.errors.LockNotAvailable:
            return True
    return False


@pytest.mark.postgres
@pytest.mark.rule("D0b")
def test_the_latest_version_is_read_without_locking_the_type():
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are PostgreSQL's")
    bt = BusinessType.objects.get(code="repair")
    version = services.record_lifecycle_version(business_type=bt)
    assert version.definition == bt.lifecycle
    # Still inside this test's transaction: another create's FK check goes on.
    assert not _key_share_blocked(bt.pk)


@pytest.mark.postgres
@pytest.mark.rule("D0b")
def test_a_new_version_is_recorded_without_blocking_the_types_foreign_key_checks():
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are PostgreSQL's")
    bt = BusinessType.objects.get(code="repair")
    before = services.record_lifecycle_version(business_type=bt)
    # The same transitions in another order: a new definition to record.
    bt.lifecycle = {**bt.lifecycle, "transitions": list(reversed(bt.lifecycle["transitions"]))}
    BusinessType.objects.filter(pk=bt.pk).update(lifecycle=bt.lifecycle)
    after = services.record_lifecycle_version(business_type=bt)
    assert after.number == before.number + 1
    assert not _key_share_blocked(bt.pk)
