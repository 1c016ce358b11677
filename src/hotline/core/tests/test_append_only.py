"""The event tables refuse UPDATE and DELETE in PostgreSQL itself, not only in the ORM."""

import pytest
from django.db import IntegrityError, connection, transaction

from hotline.core import audit
from hotline.core.migration_ops import AppendOnlyTable
from hotline.core.models import AuditEntry
from hotline.workorders import services
from hotline.workorders.models import WorkOrderEvent

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("database triggers are installed on PostgreSQL only (CI runs it)")


def _refused(sql, params=()):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@pytest.mark.rule("D2e")
@pytest.mark.rule("N4p")
def test_raw_update_and_delete_are_refused_on_both_event_tables(world, frozen):
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    audit.record(user=world.admin, action="publish", obj=("policy", 1))
    event = order.events.first()
    entry = AuditEntry.objects.get(action="publish")

    for table, pk in (("workorders_workorderevent", event.pk), ("core_auditentry", entry.pk)):
        _refused(f"UPDATE {table} SET at = at WHERE id = %s", [pk])
        _refused(f"DELETE FROM {table} WHERE id = %s", [pk])
    # Bulk ORM writes skip Model.save/delete; the database still says no.
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkOrderEvent.objects.filter(pk=event.pk).update(kind="tampered")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk)._raw_delete(connection.alias)

    event.refresh_from_db()
    assert event.kind != "tampered" and AuditEntry.objects.filter(pk=entry.pk).exists()
    # Appending stays allowed.
    audit.record(user=world.admin, action="publish", obj=("policy", 2))
    assert AuditEntry.objects.filter(action="publish").count() == 2


def test_the_operation_is_reversible(db):
    op = AppendOnlyTable("core_tests_scratch")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE core_tests_scratch (id integer PRIMARY KEY, v integer)")
        cursor.execute("INSERT INTO core_tests_scratch VALUES (1, 1), (2, 2)")
    with connection.schema_editor(atomic=False) as editor:
        op.database_forwards("core", editor, None, None)
    _refused("UPDATE core_tests_scratch SET v = 3")
    _refused("DELETE FROM core_tests_scratch")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO core_tests_scratch VALUES (3, 3)")

    with connection.schema_editor(atomic=False) as editor:
        op.database_backwards("core", editor, None, None)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_tests_scratch SET v = 4")
        cursor.execute("DELETE FROM core_tests_scratch WHERE id = 1")
        cursor.execute("SELECT count(*) FROM core_tests_scratch WHERE v = 4")
        assert cursor.fetchone()[0] == 2
        # The shared function stays while the migrated tables still use it.
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [AppendOnlyTable.FUNCTION])
        assert cursor.fetchone()[0] == 1
