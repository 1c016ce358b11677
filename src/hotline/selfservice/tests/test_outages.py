"""D7i: customers look up outages for their account, phone or address
themselves, on the public page and through the public API."""

import datetime as dt

import pytest

from hotline.organisation import services as org
from hotline.outages import services as outages
from hotline.outages.tests.factories import outage_input, published
from hotline.selfservice.tests.conftest import LOOKUP, api, result_html

pytestmark = [pytest.mark.django_db, pytest.mark.rule("D7i")]


def numbers(answer, place=0, part="active"):
    return [o["number"] for o in answer["places"][place][part]]


def test_an_account_gets_the_township_outage_over_its_transformer_area_not_the_neighbours(
        world, desk, frozen, anonymous, neighbour_t):
    now = frozen()
    township = published(desk, [world.areas["town0"]], start=now - dt.timedelta(hours=1), reason="10kV城关线检修",
                         scope="城关镇全镇")
    published(desk, [neighbour_t], start=now - dt.timedelta(hours=1), reason="南街2号台区变压器更换")
    published(desk, [world.areas["town1"]], start=now - dt.timedelta(hours=1), reason="东山乡线路检修")
    soon = published(desk, [world.areas["v0"]], start=now + dt.timedelta(days=3), hours=4, reason="南街社区线路改造")
    published(desk, [world.areas["v0"]], start=now + dt.timedelta(days=8), reason="八天后的检修")

    r = api(anonymous, LOOKUP, {"kind": "account", "query": "t0001"})
    assert r.status_code == 200, r.content
    answer = r.json()
    assert answer["query"] == {"kind": "account", "masked": "****0001"}
    assert len(answer["places"]) == 1 and answer["places"][0]["area"] is None
    assert numbers(answer) == [township.number]
    assert numbers(answer, part="upcoming") == [soon.number]
    first = answer["places"][0]["active"][0]
    assert first["outage_class_label"] == "计划停电" and first["areas"] == ["城关镇"]
    assert first["reason"] == "10kV城关线检修" and first["scope"] == "城关镇全镇"
    assert first["status"] == "published" and first["status_label"] == "按计划停电中"
    assert dt.datetime.fromisoformat(first["planned_start"]) == now - dt.timedelta(hours=1)
    assert dt.datetime.fromisoformat(first["planned_end"]) == now + dt.timedelta(hours=7)
    assert answer["places"][0]["upcoming"][0]["status_label"] == "已公告，尚未开始"

    page = anonymous.post("/self-service/outages/", {"kind": "account", "query": "t0001"})
    assert page.status_code == 200
    html = result_html(page)
    assert township.number in html and soon.number in html and "户号 ****0001" in html
    for absent in ("南街2号台区变压器更换", "东山乡线路检修", "八天后的检修"):
        assert absent not in html and absent not in r.content.decode()


def test_a_phone_answers_for_each_area_of_the_accounts_it_belongs_to(world, desk, frozen, anonymous):
    now = frozen()
    # The same mobile on a second account in another township (a landlord's, say).
    org.create_customer(account_number="t0099", name="赵强", address="西岭乡高山村5号",
                        phone_numbers=["13812345678"], service_area=world.areas["v2"])
    town0 = published(desk, [world.areas["town0"]], start=now - dt.timedelta(hours=1))
    high = published(desk, [world.areas["v2"]], start=now + dt.timedelta(days=2))
    published(desk, [world.areas["town1"]], start=now - dt.timedelta(hours=1))

    answer = api(anonymous, LOOKUP, {"kind": "phone", "query": "138 1234 5678"}).json()
    assert answer["query"] == {"kind": "phone", "masked": "138****5678"}
    assert len(answer["places"]) == 2 and all(p["area"] is None for p in answer["places"])
    got = sorted((tuple(p["active"][i]["number"] for i in range(len(p["active"]))),
                  tuple(o["number"] for o in p["upcoming"])) for p in answer["places"])
    assert got == sorted([((town0.number,), ()), ((), (high.number,))])

    # A landline the way a caller types it reaches 李娜's village (东山乡: nothing published there but the above).
    li = api(anonymous, LOOKUP, {"kind": "phone", "query": "0571-87654321"}).json()
    assert li["query"]["masked"] == "0571****4321" and len(li["places"]) == 1
    assert [o["outage_class_label"] for o in li["places"][0]["active"]] == ["计划停电"]

    html = result_html(anonymous.post("/self-service/outages/", {"kind": "phone", "query": "13812345678"}))
    assert "第 1 处" in html and "第 2 处" in html and town0.number in html and high.number in html


def test_an_address_fragment_finds_its_area_and_the_outages_over_it(world, desk, frozen, anonymous):
    now = frozen()
    town1 = published(desk, [world.areas["town1"]], start=now + dt.timedelta(days=1), reason="东山乡10kV线路检修")
    published(desk, [world.areas["town0"]], start=now - dt.timedelta(hours=1), reason="城关镇检修")

    answer = api(anonymous, LOOKUP, {"kind": "address", "query": "东山乡 桃园村3组"}).json()
    place = answer["places"][0]
    assert answer["query"] == {"kind": "address", "masked": ""}
    assert place["area"] == "东山乡桃园村" and place["active"] == []
    assert [o["number"] for o in place["upcoming"]] == [town1.number]
    assert answer["precise"] is False  # a village, not a transformer area

    html = result_html(anonymous.post("/self-service/outages/", {"kind": "address", "query": "东山乡桃园村"}))
    assert "东山乡10kV线路检修" in html and "城关镇检修" not in html and "东山乡桃园村" in html

    missing = api(anonymous, LOOKUP, {"kind": "address", "query": "北京市朝阳区"})
    assert missing.status_code == 404 and "没有与该地址对应的供电区域" in missing.json()["detail"]
    page = anonymous.post("/self-service/outages/", {"kind": "address", "query": "北京市朝阳区"})
    assert page.status_code == 200 and "没有与该地址对应的供电区域" in result_html(page)


def test_unknown_accounts_and_phones_are_not_found(world, frozen, anonymous):
    r = api(anonymous, LOOKUP, {"kind": "account", "query": "t9999"})
    assert r.status_code == 404 and r.json()["detail"] == "没有这个户号。"
    r = api(anonymous, LOOKUP, {"kind": "phone", "query": "13900000000"})
    assert r.status_code == 404 and r.json()["detail"] == "没有以该电话号码登记的用户。"


def test_a_delayed_restoration_shows_the_new_end_the_first_one_and_why(world, desk, frozen, anonymous):
    now = frozen()
    outage = published(desk, [world.areas["t0"]], start=now - dt.timedelta(hours=3), hours=4)
    outages.start(outage=outage, actor=desk, actual_start=now - dt.timedelta(hours=3))
    outages.delay(outage=outage, actor=desk, new_end=now + dt.timedelta(hours=3), reason="更换电缆中间头，需延长作业")

    got = api(anonymous, LOOKUP, {"kind": "account", "query": "t0001"}).json()["places"][0]["active"][0]
    assert got["status"] == "delayed" and got["status_label"] == "延时送电" and got["delayed"] is True
    assert dt.datetime.fromisoformat(got["planned_end"]) == now + dt.timedelta(hours=3)
    assert dt.datetime.fromisoformat(got["original_end"]) == now + dt.timedelta(hours=1)
    assert got["delay_reason"] == "更换电缆中间头，需延长作业"
    html = result_html(anonymous.post("/self-service/outages/", {"kind": "account", "query": "t0001"}))
    assert "原定" in html and "更换电缆中间头" in html


def test_drafts_cancelled_and_restored_outages_are_not_shown(world, desk, frozen, anonymous):
    now, t0 = frozen(), world.areas["t0"]
    outages.draft(actor=desk, data=outage_input([t0], start=now - dt.timedelta(hours=1)))
    called_off = published(desk, [t0], start=now + dt.timedelta(days=2))
    outages.cancel(outage=called_off, actor=desk, reason="改期")
    over = published(desk, [t0], start=now - dt.timedelta(hours=2))
    outages.start(outage=over, actor=desk, actual_start=now - dt.timedelta(hours=2))
    outages.restore(outage=over, actor=desk, actual_restoration=now - dt.timedelta(minutes=5))

    answer = api(anonymous, LOOKUP, {"kind": "account", "query": "t0001"}).json()
    assert answer["places"][0] == {"area": None, "active": [], "upcoming": []}
    html = result_html(anonymous.post("/self-service/outages/", {"kind": "account", "query": "t0001"}))
    assert "当前及未来 7 天内没有停电" in html


def test_an_account_without_a_known_area_is_told_to_call(world, frozen, anonymous):
    org.create_customer(account_number="t0777", name="钱多", address="不明", phone_numbers=[])
    answer = api(anonymous, LOOKUP, {"kind": "account", "query": "t0777"}).json()
    assert answer["places"] == []
    html = result_html(anonymous.post("/self-service/outages/", {"kind": "account", "query": "t0777"}))
    assert "请拨打95598" in html
