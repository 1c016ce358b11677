"""D7i: the public answers name no one: no customer's name, account number,
phone number or address, in the page or the JSON, whatever was asked."""

import datetime as dt
import json

import pytest

from hotline.organisation import services as org
from hotline.outages.tests.factories import published
from hotline.selfservice.tests.conftest import LOOKUP, PROGRESS, api
from hotline.workorders import services as orders

pytestmark = [pytest.mark.django_db, pytest.mark.rule("D7i")]

SECRETS = ["张伟", "城关镇南街社区12号", "13812345678", "138 1234 5678", "1381234", "t0001",
           "赵强", "西岭乡高山村5号", "t0099", "邻居小刘", "南街社区12号3单元", "13600001234"]


def assert_private(text: str):
    leaked = [s for s in SECRETS if s in text]
    assert leaked == [], leaked


def test_no_lookup_reveals_a_name_a_phone_an_account_or_an_address(world, desk, frozen, anonymous):
    now = frozen()
    org.create_customer(account_number="t0099", name="赵强", address="西岭乡高山村5号",
                        phone_numbers=["13812345678"], service_area=world.areas["v2"])
    published(desk, [world.areas["town0"]], start=now - dt.timedelta(hours=1))
    published(desk, [world.areas["v2"]], start=now + dt.timedelta(days=1))
    order = orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="南街社区12号3单元停电", fault_scope="company",
        customer_id=world.customers["zhang"].id, caller_name="邻居小刘", caller_phone="13600001234",
        address="南街社区12号3单元"))
    orders.transition(order=order.number, action="receive", actor=world.station_users[0], payload={})

    lookups = [("account", "t0001"), ("phone", "13812345678"), ("phone", "138 1234 5678"),
               ("address", "城关镇南街社区12号")]
    for kind, query in lookups:
        r = api(anonymous, LOOKUP, {"kind": kind, "query": query})
        assert r.status_code == 200 and r.json()["places"], (kind, query)
        assert_private(json.dumps(r.json(), ensure_ascii=False))
        page = anonymous.post("/self-service/outages/", {"kind": kind, "query": query})
        assert page.status_code == 200 and "outage-answer" in page.content.decode()
        assert_private(page.content.decode())

    for tail in ("1234", "5678"):
        r = api(anonymous, PROGRESS, {"number": order.number, "phone_tail": tail})
        assert r.status_code == 200
        assert_private(json.dumps(r.json(), ensure_ascii=False))
        page = anonymous.post("/self-service/orders/", {"number": order.number, "phone_tail": tail})
        assert "order-answer" in page.content.decode()
        assert_private(page.content.decode())
