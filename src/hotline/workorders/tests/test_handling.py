"""Handling records (issue 11 item 3): when a unit resolves and replies it
records what the business type declares (catalog.HandlingField) — a
repair's fault cause, measures and restoration time, a complaint's findings,
handling, responsibility and the customer's acceptance. Checked all at once
by the services, kept in the action's event and on the order, shown on the
order page and in the inbox's forms, accepted and returned by the API."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from hotline.catalog.models import BusinessType, HandlingField
from hotline.testing import PASSWORD
from hotline.workorders import services
from hotline.workorders.errors import OrderError
from hotline.workorders.models import State, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
HTMX = {"HTTP_HX_REQUEST": "true"}


def repair(world, **kw):
    data = dict(business_type="repair", sub_class="lv", description="整栋楼停电", fault_scope="company",
                customer_id=world.customers["zhang"].id, caller_phone="13812345678")
    data.update(kw)
    return services.create_order(actor=world.agent, intake=services.Intake(**data))


def complaint(world):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="complaint", sub_class="service", description="营业厅工作人员态度恶劣", customer_id=world.customers["li"].id))


def act(order, action, actor, **payload):
    return services.transition(order=order.number, action=action, actor=actor, payload=payload)


def on_site(world, order):
    st = world.station_users[0]
    for action in ("receive", "arrive"):
        act(order, action, st)
    return st


def local(value: str) -> str:
    return dt.datetime.fromisoformat(value).astimezone(SH).strftime("%Y-%m-%d %H:%M")


def client_for(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def post_json(c, url, body):
    return c.post(url, data=json.dumps(body), content_type="application/json")


# --- the services ---------------------------------------------------------------------

@pytest.mark.rule("D3.6d", "D2d")
def test_a_repair_is_resolved_with_cause_measures_and_restoration_time(world, frozen):
    order = repair(world)
    frozen.advance(minutes=40)
    st = on_site(world, order)
    frozen.advance(minutes=50)
    restored = frozen() - dt.timedelta(minutes=3)
    order = act(order, "resolve", st, record={"cause": "tree", "measures": "清除树障，更换熔断器",
                                              "restored_at": restored.isoformat()})
    assert order.state == State.RESOLVED
    event = order.events.get(kind="resolve")
    # The restoration time is the resolve's reported time (D3.6d), recorded once.
    assert event.payload["reported_at"] == restored.isoformat() and "recorded_late_seconds" not in event.payload
    assert [(e["code"], e["label"], e["value"], e["text"]) for e in event.payload["record"]] == [
        ("cause", "故障原因", "tree", "树障"),
        ("measures", "处理措施", "清除树障，更换熔断器", "清除树障，更换熔断器"),
        ("restored_at", "恢复送电时间", restored.isoformat(), restored.astimezone(SH).strftime("%Y-%m-%d %H:%M")),
    ]
    order.refresh_from_db()
    assert order.handling_record == event.payload["record"]


@pytest.mark.rule("D3.6d")
def test_the_restoration_time_left_out_is_the_time_of_the_resolve_and_a_late_one_is_kept_with_its_delay(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    frozen.advance(minutes=30)
    act(order, "resolve", st, record={"cause": "equipment_ageing", "measures": "更换进户线"})
    order.refresh_from_db()
    restored = {e["code"]: e for e in order.handling_record}["restored_at"]
    assert dt.datetime.fromisoformat(restored["value"]) == frozen()
    # Recorded 20 minutes after the repair ended: kept, with its delay (D3.6d allows 5).
    other = repair(world, customer_id=world.customers["wang"].id, caller_phone="15900001111")
    st2 = world.station_users[2]
    for action in ("receive", "arrive"):
        act(other, action, st2)
    frozen.advance(minutes=30)
    late = frozen() - dt.timedelta(minutes=20)
    act(other, "resolve", st2, record={"cause": "tree", "measures": "清除树障", "restored_at": late.isoformat()})
    payload = other.events.get(kind="resolve").payload
    assert payload["reported_at"] == late.isoformat() and payload["recorded_late_seconds"] == 20 * 60


@pytest.mark.rule("D3.6d")
def test_a_restoration_time_sent_beside_the_record_is_the_records_restoration_time(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    frozen.advance(minutes=30)
    restored = frozen() - dt.timedelta(minutes=4)
    act(order, "resolve", st, at=restored.isoformat(), record={"cause": "tree", "measures": "清除树障"})
    order.refresh_from_db()
    entry = {e["code"]: e for e in order.handling_record}["restored_at"]
    assert dt.datetime.fromisoformat(entry["value"]) == restored
    assert order.events.get(kind="resolve").payload["record"] == order.handling_record


def test_missing_required_items_are_all_named_at_once_and_nothing_is_saved(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    events = WorkOrderEvent.objects.filter(order=order).count()
    with pytest.raises(OrderError) as err:
        act(order, "resolve", st, record={"measures": "  "}, note="已处理")
    errors = {e.field: e.message for e in err.value.errors}
    assert errors == {"record.cause": "故障原因：请选择", "record.measures": "处理措施：必须填写"}
    order.refresh_from_db()
    assert order.state == State.ON_SITE and order.handling_record == []
    assert WorkOrderEvent.objects.filter(order=order).count() == events
    with pytest.raises(OrderError) as err:
        act(order, "resolve", st)  # no record at all
    assert {e.field for e in err.value.errors} == {"record.cause", "record.measures"}


def test_a_choice_outside_the_list_and_an_unknown_item_are_refused(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    with pytest.raises(OrderError) as err:
        act(order, "resolve", st, record={"cause": "meteor", "measures": "更换熔断器", "weather": "雨"})
    errors = {e.field: e.message for e in err.value.errors}
    assert set(errors) == {"record.cause", "record.weather"}
    assert errors["record.cause"].startswith("故障原因：请从以下选项中选择：") and "树障（tree）" in errors["record.cause"]
    assert "weather" in errors["record.weather"] and "处理完毕" in errors["record.weather"]
    with pytest.raises(OrderError) as err:
        act(order, "resolve", st, record=["tree"])
    assert err.value.field == "record"
    assert WorkOrder.objects.get(pk=order.pk).state == State.ON_SITE


def test_a_time_in_the_future_before_the_order_or_unreadable_is_refused(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    frozen.advance(minutes=30)
    good = {"cause": "tree", "measures": "清除树障"}
    for when, message in [((frozen() + dt.timedelta(minutes=30)).isoformat(), "恢复送电时间：该时间晚于当前时间"),
                          ((order.created_at - dt.timedelta(minutes=5)).isoformat(), "恢复送电时间：该时间早于工单受理时间"),
                          ("下午三点", "恢复送电时间：请填写日期和时间，例如 2026-06-01 14:30")]:
        with pytest.raises(OrderError) as err:
            act(order, "resolve", st, record={**good, "restored_at": when})
        assert [(e.field, e.message) for e in err.value.errors] == [("record.restored_at", message)]
    # A time a minute ahead is a clock difference, not the future.
    act(order, "resolve", st, record={**good, "restored_at": (frozen() + dt.timedelta(seconds=50)).isoformat()})


def test_a_text_longer_than_declared_is_refused(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    with pytest.raises(OrderError) as err:
        act(order, "resolve", st, record={"cause": "tree", "measures": "换" * 1001})
    assert [e.message for e in err.value.errors] == ["处理措施：最多 1000 个字（现为 1001 个）"]


@pytest.mark.rule("D3.3b")
def test_the_repair_reply_records_the_customer_opinion(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    act(order, "resolve", st, record={"cause": "overload", "measures": "调整负荷"})
    with pytest.raises(OrderError) as err:
        act(order, "reply", st)
    assert [e.field for e in err.value.errors] == ["record.customer_opinion"]
    order = act(order, "reply", st, record={"customer_opinion": "basically_satisfied"})
    assert [(e["action"], e["code"]) for e in order.handling_record] == [
        ("resolve", "cause"), ("resolve", "measures"), ("resolve", "restored_at"), ("reply", "customer_opinion")]
    assert order.handling_record[-1]["text"] == "基本满意"


@pytest.mark.rule("D2e", "D11a")
def test_a_complaint_reply_keeps_findings_handling_responsibility_and_acceptance(world, frozen):
    order = complaint(world)
    mk = world.marketing_user
    act(order, "receive", mk)
    with pytest.raises(OrderError) as err:
        act(order, "reply", mk, record={"customer_accepts": "maybe"})
    assert {e.field: e.message for e in err.value.errors} == {
        "record.findings": "调查情况：必须填写", "record.handling": "处理情况：必须填写",
        "record.responsibility": "责任认定：请选择", "record.customer_accepts": "客户是否认可：请选择“是”或“否”"}
    record = {"findings": "营业员未按规范解释电价", "handling": "对营业员批评教育并向客户致歉",
              "responsibility": "company", "customer_accepts": True}
    order = act(order, "reply", mk, record=record)
    assert {e["code"]: e["text"] for e in order.handling_record} == {
        "findings": "营业员未按规范解释电价", "handling": "对营业员批评教育并向客户致歉",
        "responsibility": "供电企业责任", "customer_accepts": "是"}
    # Sent back for rework, the second reply replaces the order's copy; the history keeps both.
    act(order, "rework", world.agent, reason="未写明整改措施")
    act(order, "reply", mk, record={**record, "handling": "已整改并向客户当面致歉", "customer_accepts": "no"})
    order.refresh_from_db()
    assert {e["code"]: e["text"] for e in order.handling_record}["handling"] == "已整改并向客户当面致歉"
    assert len(order.handling_record) == 4
    replies = [e.payload["record"] for e in order.events.filter(kind="reply").order_by("seq")]
    assert [{e["code"]: e["value"] for e in r}["customer_accepts"] for r in replies] == [True, False]


def test_a_type_with_no_declared_items_behaves_as_before(world, frozen):
    order = repair(world)
    chase = services.chase_up(order=order, actor=world.agent, note="客户催问何时恢复")
    st = world.station_users[0]
    act(chase, "receive", st)
    chase = act(chase, "reply", st, note="已联系客户")
    assert chase.state == State.REPLIED and chase.handling_record == []
    assert "record" not in chase.events.get(kind="reply").payload
    # An item it does not ask is refused, not silently kept.
    other = services.chase_up(order=complaint(world), actor=world.agent, note="催问")
    act(other, "receive", world.marketing_user)
    with pytest.raises(OrderError) as err:
        act(other, "reply", world.marketing_user, record={"cause": "tree"})
    assert err.value.field == "record.cause"
    # A type whose items are all switched off asks nothing any more.
    for item in HandlingField.objects.filter(business_type__code="repair", action="resolve"):
        item.active = False
        item.save()  # as the admin saves it: the configuration caches drop it
    st = on_site(world, order)
    order = act(order, "resolve", st)
    assert order.state == State.RESOLVED and order.handling_record == []


@pytest.mark.rule("D3.4c")
def test_merged_callers_get_the_masters_record(world, frozen):
    master = repair(world)
    frozen.advance(minutes=2)
    sub = repair(world, caller_phone="13900002222", merge_into=master.number)
    assert sub.state == State.MERGED
    st = on_site(world, master)
    act(master, "resolve", st, record={"cause": "lightning", "measures": "更换避雷器"})
    sub.refresh_from_db()
    assert {e["code"]: e["text"] for e in sub.handling_record}["cause"] == "雷击"
    assert sub.events.get(kind="restoration").payload["record"][0]["text"] == "雷击"


def test_an_administrator_renaming_an_item_leaves_the_history_as_recorded(world, frozen):
    order = repair(world)
    st = on_site(world, order)
    act(order, "resolve", st, record={"cause": "animal", "measures": "清理鸟窝"})
    HandlingField.objects.filter(business_type__code="repair", code="cause").update(label="故障原因分类")
    order.refresh_from_db()
    assert order.handling_record[0]["label"] == "故障原因"
    assert order.events.get(kind="resolve").payload["record"][0]["label"] == "故障原因"


# --- the pages --------------------------------------------------------------------------

def test_the_inbox_asks_the_declared_items_and_keeps_them_on_a_refusal(world, login, frozen):
    order = repair(world)
    on_site(world, order)
    client = login(world.station_users[0])
    html = client.get("/inbox/").content.decode()
    assert f'id="rec-{order.number}-resolve-cause"' in html and '<option value="tree">树障</option>' in html
    assert f'name="record-measures"' in html and 'name="record-restored_at"' in html and 'data-open="resolve"' in html
    bad = client.post(f"/inbox/{order.number}/act/", {"action": "resolve", "record-measures": "更换熔断器"}, **HTMX)
    text = bad.content.decode()
    assert bad.status_code == 200 and "故障原因：请选择" in text
    assert "<details class=\"record-form\" open>" in text and "更换熔断器</textarea>" in text
    assert WorkOrder.objects.get(pk=order.pk).state == State.ON_SITE
    client.post(f"/inbox/{order.number}/act/", {"action": "resolve", "record-cause": "tree", "record-measures": "更换熔断器"},
                **HTMX)
    order.refresh_from_db()
    assert order.state == State.RESOLVED and order.handling_record[0]["value"] == "tree"


def test_the_order_page_shows_the_record_and_its_forms_ask_the_items(world, login, frozen):
    order = complaint(world)
    mk = world.marketing_user
    act(order, "receive", mk)
    client = login(mk)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert 'name="record-findings"' in page and 'name="record-customer_accepts" value="yes"' in page
    assert '<option value="third_party">第三方责任</option>' in page and 'id="handling-record"' not in page
    refused = client.post(f"/orders/{order.number}/act/", {"action": "reply", "record-findings": "属实"})
    text = refused.content.decode()
    assert refused.status_code == 400
    for message in ("处理情况：必须填写", "责任认定：请选择", "客户是否认可：请选择“是”或“否”"):
        assert message in text
    assert ">属实</textarea>" in text
    done = client.post(f"/orders/{order.number}/act/", {
        "action": "reply", "record-findings": "营业员解释不到位", "record-handling": "已批评教育并致歉",
        "record-responsibility": "company", "record-customer_accepts": "yes", "note": "已回复客户"})
    assert done.status_code == 302
    # The callback agent reads it on the order page: the record, and the reply in the timeline.
    page = login(world.agent).get(f"/orders/{order.number}/").content.decode()
    record = page[page.index('id="handling-record"'):page.index('id="timeline"')]
    for text in ("调查情况", "营业员解释不到位", "处理情况", "已批评教育并致歉", "责任认定", "供电企业责任", "客户是否认可", "是"):
        assert text in record
    timeline = page[page.index('id="timeline"'):]
    assert "供电企业责任" in timeline and "已回复客户" in timeline


def test_the_search_page_lists_orders_with_a_record(world, login, frozen):
    order = repair(world)
    st = on_site(world, order)
    act(order, "resolve", st, record={"cause": "tree", "measures": "清除树障"})
    html = login(world.agent).get("/orders/search/", {"number": order.number}).content.decode()
    assert order.number in html


# --- the API ------------------------------------------------------------------------------

def test_the_api_takes_the_record_answers_every_problem_and_returns_it(world, frozen):
    order = complaint(world)
    mk = world.marketing_user
    act(order, "receive", mk)
    c = client_for(mk)
    url = f"/api/orders/{order.number}/transitions"
    bad = post_json(c, url, {"action": "reply", "record": {"responsibility": "god", "customer_accepts": True}})
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert [d["loc"] for d in detail] == [["record.findings"], ["record.handling"], ["record.responsibility"]]
    assert detail[2]["msg"].startswith("责任认定：请从以下选项中选择")
    record = {"findings": "属实", "handling": "已整改", "responsibility": "third_party", "customer_accepts": False}
    r = post_json(c, url, {"action": "reply", "record": record})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "replied"
    assert [(e["code"], e["value"], e["text"]) for e in body["handling_record"]] == [
        ("findings", "属实", "属实"), ("handling", "已整改", "已整改"), ("responsibility", "third_party", "第三方责任"),
        ("customer_accepts", False, "否")]
    agent = client_for(world.agent)
    assert agent.get(f"/api/orders/{order.number}").json()["handling_record"] == body["handling_record"]
    reply = [e for e in agent.get(f"/api/orders/{order.number}/events").json() if e["kind"] == "reply"][0]
    assert reply["payload"]["record"] == body["handling_record"]


def test_the_api_lists_the_items_of_a_type_and_documents_the_record(world):
    c = client_for(world.station_users[0])
    items = c.get("/api/business-types/repair/handling-fields").json()
    assert [(i["action"], i["code"], i["kind"], i["required"]) for i in items] == [
        ("reply", "customer_opinion", "choice", True), ("resolve", "cause", "choice", True),
        ("resolve", "measures", "text", True), ("resolve", "restored_at", "datetime", False)]
    cause = items[1]
    assert {"code": "tree", "label": "树障"} in cause["choices"] and cause["max_length"] is None
    assert items[3]["action_time"] is True and items[2]["max_length"] == 1000
    assert c.get("/api/business-types/chase_up/handling-fields").json() == []
    assert c.get("/api/business-types/nope/handling-fields").status_code == 404
    schema = c.get("/api/openapi.json").json()
    transition = schema["components"]["schemas"]["TransitionIn"]["properties"]["record"]
    assert "handling-fields" in transition["description"]
    assert "handling_record" in schema["components"]["schemas"]["OrderOut"]["properties"]
    assert "/api/business-types/{code}/handling-fields" in schema["paths"]


def test_an_order_created_before_the_items_existed_reads_as_before(world, frozen):
    for item in BusinessType.objects.get(code="repair").handling_fields.all():
        item.active = False
        item.save()
    order = repair(world)
    st = on_site(world, order)
    act(order, "resolve", st)
    c = client_for(world.agent)
    assert c.get(f"/api/orders/{order.number}").json()["handling_record"] == []
    assert 'id="handling-record"' not in c.get(f"/orders/{order.number}/").content.decode()
