import json

import pytest
from django.test import Client

from hotline.organisation.services import issue_api_token
from hotline.testing import PASSWORD
from hotline.workorders.models import WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

REPAIR = {"business_type": "repair", "sub_class": "lv", "description": "停电", "fault_scope": "company"}


def client_for(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def post(c, url, body, **headers):
    return c.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def agent(world):
    return client_for(world.agent)


def test_create_get_and_timeline(world, agent, frozen):
    r = post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "dispatched" and body["assigned_unit"] == "城关供电所"
    number = body["number"]
    assert agent.get(f"/api/orders/{number}").json()["number"] == number
    events = agent.get(f"/api/orders/{number}/events").json()
    assert [e["kind"] for e in events] == ["create", "dispatch"]
    clocks = {c["metric"]: c for c in agent.get(f"/api/orders/{number}/clocks").json()}
    assert clocks["dispatch"]["status"] == "met" and clocks["accept"]["status"] == "running"


def test_idempotency_key_returns_the_same_order(world, agent, frozen):
    body = {**REPAIR, "customer_id": world.customers["zhang"].id}
    r1 = post(agent, "/api/orders", body, **{"Idempotency-Key": "call-123"})
    r2 = post(agent, "/api/orders", body, **{"Idempotency-Key": "call-123"})
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["number"] == r2.json()["number"]
    assert WorkOrder.objects.count() == 1
    r3 = post(agent, "/api/orders", {**body, "description": "different"}, **{"Idempotency-Key": "call-123"})
    assert r3.status_code == 422 and r3.json()["detail"][0]["loc"] == ["Idempotency-Key"]
    # The replays rolled back whole: no number was used up.
    r4 = post(agent, "/api/orders", body)
    assert int(r4.json()["number"][-5:]) == int(r1.json()["number"][-5:]) + 1
    assert WorkOrder.objects.count() == 2


def test_idempotent_replay_returns_the_order_even_if_the_body_no_longer_validates(world, agent, frozen):
    from hotline.catalog.models import SubClass

    body = {**REPAIR, "customer_id": world.customers["zhang"].id}
    r1 = post(agent, "/api/orders", body, **{"Idempotency-Key": "call-9"})
    SubClass.objects.filter(business_type__code="repair", code="lv").update(active=False)
    from hotline.core import cache

    cache.clear()
    assert post(agent, "/api/orders", body).status_code == 422
    r2 = post(agent, "/api/orders", body, **{"Idempotency-Key": "call-9"})
    assert r2.status_code == 201 and r2.json()["number"] == r1.json()["number"]


@pytest.mark.parametrize("body,field", [
    ({**REPAIR, "business_type": "weather"}, "business_type"),
    ({**REPAIR, "sub_class": "nope", "caller_phone": "13800001111"}, "sub_class"),
    ({"business_type": "repair", "sub_class": "lv", "fault_scope": "company", "caller_phone": "13800001111"}, "description"),
    ({**REPAIR, "caller_phone": "not-a-phone"}, "caller_phone"),
    ({**REPAIR, "customer_id": "abc"}, "customer_id"),
    ({**REPAIR, "customer_id": 999999}, "customer_id"),
    ({**REPAIR, "paid_service": {"x": 1}, "caller_phone": "13800001111"}, "paid_service"),
    ({**REPAIR, "description": "x" * 5000, "caller_phone": "13800001111"}, "description"),
])
def test_bad_input_gets_422_naming_the_field_and_writes_nothing(world, agent, body, field, frozen):
    r = post(agent, "/api/orders", body)
    assert r.status_code == 422, r.content
    assert field in r.json()["detail"][0]["loc"], r.json()
    assert WorkOrder.objects.count() == 0 and WorkOrderEvent.objects.count() == 0


def test_malformed_and_oversized_bodies(world, agent):
    r = agent.post("/api/orders", data="{not json", content_type="application/json")
    assert 400 <= r.status_code < 500
    r = agent.post("/api/orders", data="[1,2]", content_type="application/json")
    assert 400 <= r.status_code < 500
    huge = json.dumps({**REPAIR, "description": "x" * 3_000_000})
    r = agent.post("/api/orders", data=huge, content_type="application/json")
    assert r.status_code in (400, 413, 422)
    assert WorkOrder.objects.count() == 0


def test_illegal_transition_is_409_with_reason(world, agent, frozen):
    number = post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id}).json()["number"]
    r = post(agent, f"/api/orders/{number}/transitions", {"action": "close"})
    assert r.status_code == 409 and r.json()["detail"] == "工单当前状态为“已派单”，不能执行“归档”"
    r = post(agent, f"/api/orders/{number}/transitions", {"action": "cancel"})
    assert r.status_code == 422 and r.json()["detail"] == [{"loc": ["reason"], "msg": "撤销工单须填写原因", "type": "value_error"}]
    agent.cookies["django_language"] = "en"
    r = post(agent, f"/api/orders/{number}/transitions", {"action": "close"})
    assert r.status_code == 409 and r.json()["detail"] == "cannot “Archive” an order in state “Dispatched”"


def test_service_messages_are_chinese_unless_the_language_cookie_says_english(world, agent, frozen):
    body = {**REPAIR, "sub_class": "nope", "caller_phone": "13800001111"}
    r = post(agent, "/api/orders", body)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["sub_class"], "msg": "“nope”不是故障报修的业务子类，请重新选择", "type": "value_error"}]
    # An English Accept-Language alone does not switch (ChineseByDefaultMiddleware).
    r = post(agent, "/api/orders", body, **{"Accept-Language": "en"})
    assert r.json()["detail"][0]["msg"] == "“nope”不是故障报修的业务子类，请重新选择"
    agent.cookies["django_language"] = "en"
    r = post(agent, "/api/orders", body)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["sub_class"], "msg": "“nope” is not a sub-class of 故障报修", "type": "value_error"}]
    assert WorkOrder.objects.count() == 0


def test_refusals_speak_the_users_language(world, agent, frozen):
    number = post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id}).json()["number"]
    _, key = issue_api_token(user=world.station_users[0], name="field app")
    station = Client(headers={"Authorization": f"Bearer {key}"})
    r = station.post(f"/api/orders/{number}/transitions", data={"action": "cancel", "reason": "x"}, content_type="application/json")
    assert r.status_code == 403 and r.json()["detail"] == "只有客服中心人员可以执行此操作"
    station.cookies["django_language"] = "en"
    r = station.post(f"/api/orders/{number}/transitions", data={"action": "cancel", "reason": "x"}, content_type="application/json")
    assert r.status_code == 403 and r.json()["detail"] == "only center staff can do this"
    r = agent.get("/api/orders?phone=abc")
    assert r.status_code == 422 and r.json()["detail"][0] == {"loc": ["phone"], "msg": "电话号码格式不正确：abc", "type": "value_error"}


def test_unit_flow_through_the_api_with_a_token(world, agent, frozen):
    number = post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id}).json()["number"]
    _, key = issue_api_token(user=world.station_users[0], name="field app")
    station = Client(headers={"Authorization": f"Bearer {key}"})
    other_key = issue_api_token(user=world.station_users[1], name="x")[1]
    other = Client(headers={"Authorization": f"Bearer {other_key}"})
    assert other.get(f"/api/orders/{number}").status_code == 404
    r = station.post(f"/api/orders/{number}/transitions", data={"action": "receive"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "received"
    assert "138****5678" in r.json()["caller_phone"] or r.json()["caller_phone"] == ""
    r = station.post(f"/api/orders/{number}/transitions", data={"action": "cancel", "reason": "x"}, content_type="application/json")
    assert r.status_code == 403
    assert Client(headers={"Authorization": "Bearer wrong"}).get("/api/orders").status_code == 401
    assert Client().get("/api/orders").status_code == 401


def test_list_filters_and_paging(world, agent, frozen):
    for i in range(7):
        post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id, "description": f"停电{i}"})
        frozen.advance(minutes=1)
    post(agent, "/api/orders", {"business_type": "complaint", "sub_class": "service", "description": "投诉",
                                "customer_id": world.customers["li"].id})
    page = agent.get("/api/orders?limit=3&offset=0&business_type=repair").json()
    assert page["count"] == 7 and len(page["items"]) == 3
    page2 = agent.get("/api/orders?limit=3&offset=3&business_type=repair").json()
    assert not {o["number"] for o in page["items"]} & {o["number"] for o in page2["items"]}
    assert agent.get("/api/orders?state=dispatched&business_type=complaint").json()["count"] == 1
    assert agent.get("/api/orders?state=bogus").status_code == 422
    assert agent.get("/api/orders?limit=100000").status_code == 422
    assert agent.get("/api/orders?phone=13812345678").json()["count"] == 0  # customer orders carry no caller phone here
    station = client_for(world.station_users[1])
    assert station.get("/api/orders").json()["count"] == 0


def test_chase_up_and_notices_through_the_api(world, agent, frozen):
    from hotline.timelimits.services import sweep_until_idle

    number = post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id}).json()["number"]
    r = post(agent, f"/api/orders/{number}/chase-ups", {"note": "客户催促"})
    assert r.status_code == 201 and r.json()["chased_order"] == number
    assert post(agent, f"/api/orders/{number}/chase-ups", {"note": "again"}).status_code == 409
    frozen.advance(minutes=5)
    sweep_until_idle()
    station = client_for(world.station_users[0])
    notices = station.get("/api/notices").json()
    assert notices and all(n["kind"] == "supervision" for n in notices)
    r = post(station, f"/api/notices/{notices[0]['id']}/answer", {"answer": "已派人"})
    assert r.status_code == 200 and r.json()["answer"] == "已派人"
    r = post(station, f"/api/notices/{notices[0]['id']}/answer", {"answer": "again"})
    assert r.status_code == 409 and r.json()["detail"] == "answer: 该督办单已答复"


def test_customer_lookup_and_openapi(world, agent):
    r = agent.get("/api/customers?q=0571-87654321")
    assert [c["name"] for c in r.json()] == ["李娜"]
    assert agent.get("/api/customers?q=t0001").json()[0]["name"] == "张伟"
    schema = agent.get("/api/openapi.json").json()
    assert "/api/orders" in schema["paths"] and "/api/orders/{number}/transitions" in schema["paths"]
    assert agent.get("/api/docs").status_code == 200


def test_handover_through_the_api(world, agent, frozen):
    number = post(agent, "/api/orders", {**REPAIR, "customer_id": world.customers["zhang"].id}).json()["number"]
    r = post(agent, f"/api/orders/{number}/handover", {"to_username": "nobody", "reason": "x"})
    assert r.status_code == 422 and r.json()["detail"] == [{"loc": ["to_username"], "msg": "用户不存在", "type": "value_error"}]
    r = post(agent, f"/api/orders/{number}/handover", {"to_username": world.agent2.username, "reason": "交班"})
    assert r.status_code == 200 and r.json()["owner"] == str(world.agent2)
