"""core.bulk.insert: the sweep's fast insert (COPY on PostgreSQL) behaves as
bulk_create does: keys set, defaults filled, JSON kept, a violated
constraint raised for the whole batch."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from hotline.core import bulk, clock
from hotline.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_rows_get_their_keys_defaults_and_json(world):
    now = clock.now()
    rows = [AuditEntry(user=world.admin, action="export", object_type="order", object_id=str(i), at=now,
                       detail={"名": "张伟", "n": i, "list": [1, "二"]}) for i in range(3)]
    done = bulk.insert(AuditEntry, rows)
    assert [r.pk for r in done] == sorted(r.pk for r in done) and all(r.pk for r in done)
    stored = {e.pk: e for e in AuditEntry.objects.filter(pk__in=[r.pk for r in done])}
    assert [stored[r.pk].detail for r in done] == [{"名": "张伟", "n": i, "list": [1, "二"]} for i in range(3)]
    assert all(stored[r.pk].at == now and stored[r.pk].user_id == world.admin.pk for r in done)
    # A later ordinary insert does not collide with the keys taken.
    AuditEntry.objects.create(user=world.admin, action="export", object_type="order", object_id="x", at=now, detail={})
    assert bulk.insert(AuditEntry, []) == []


def test_a_violated_constraint_fails_the_whole_batch(world):
    from hotline.timelimits.models import Notice, NoticeKind
    from hotline.workorders import services

    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", fault_scope="company",
        customer_id=world.customers["zhang"].id))
    clk = order.clocks.first()
    now = clock.now()

    def notice(level):
        return Notice(clock=clk, subject_type="work_order", subject_id=order.pk, order=order, kind=NoticeKind.SUPERVISION,
                      level=level, metric=clk.metric, due_at=now, created_at=now)

    bulk.insert(Notice, [notice(1)])
    before = Notice.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(Notice, [notice(2), notice(1)])  # level 1 of this clock exists: once only
    assert Notice.objects.count() == before
