"""The demo's simulated calls and its orders tell one story (C3y, C3s): the
orders come from calls of their moment, the other answered calls carry
their agent's wrap-up mark, so the director's first look is plausible."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings

from hotline.calls.kpis import Period
from hotline.calls.models import Call, CallDisposition
from hotline.demo import builder
from hotline.organisation.models import Unit
from hotline.reports import kpis
from hotline.workorders.models import OrderContact, WorkOrder

NOW = dt.datetime(2025, 11, 19, 19, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hasher, transaction.atomic():
        yield builder.build(customers=300, days=2, seed=11, now=NOW)
        transaction.set_rollback(True)


@pytest.mark.rule("C3y", "C3s")
def test_orders_come_from_the_calls_of_their_moment_and_the_other_calls_are_marked(demo, db):
    period = Period(NOW - dt.timedelta(days=2), NOW)
    scope = kpis.Scope(unit=Unit.objects.get(kind="center"))
    origins = OrderContact.objects.filter(kind=OrderContact.Kind.ORIGIN)
    from_calls = origins.filter(contact__calls__isnull=False)
    assert from_calls.count() >= 0.8 * origins.count()
    for link in from_calls.select_related("order")[:50]:
        call = Call.objects.get(contact_id=link.contact_id)
        assert call.answered_at <= link.order.created_at <= call.ended_at + dt.timedelta(minutes=builder.LINK_MINUTES)
    reasons = set(CallDisposition.objects.values_list("reason", flat=True))
    assert {"existing_order", "hung_up", "silent", "wrong_number"} <= reasons
    # a call about an existing order is linked to an order recorded before it
    mark = CallDisposition.objects.filter(reason="existing_order").select_related("order", "call").first()
    assert mark.order.created_at <= mark.call.offered_at
    assert OrderContact.objects.filter(order=mark.order, contact=mark.call.contact, kind="chase").exists()
    omissions = kpis.omission_rate(period, scope)
    assert omissions.denominator > 100 and omissions.rate < 0.01
    assert WorkOrder.objects.filter(business_type__code="complaint").exists()
    assert kpis.complaints_per_answered_call(period, scope).numerator > 0
