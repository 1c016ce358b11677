"""The JSON API's refusals: out-of-range input answers 422 naming the field
(never a 500), every operation documents its error answers in the OpenAPI,
and every message is in the user's language (Chinese unless asked)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from hotline.organisation.services import issue_api_token
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db

BIG = 2**63  # one past the largest bigint
SMALL = -(2**63) - 1  # one below the smallest


def _session(user, language=None) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    if language:
        c.cookies["django_language"] = language
    return c


def _post(c, url, body, **headers):
    return c.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def order(world, frozen):
    from hotline.workorders import services

    return services.create_order(actor=world.agent, intake=services.Intake(
        channel="phone", business_type="repair", sub_class="lv", description="停电", fault_scope="company",
        customer_id=world.customers["zhang"].id))


GETS = [
    ("/api/orders?offset=9223372036854775808", ["query", "offset"]),
    ("/api/orders?offset=10000000000", ["query", "offset"]),
    ("/api/orders?offset=-1", ["query", "offset"]),
    ("/api/orders?limit=9223372036854775808", ["query", "limit"]),
    (f"/api/orders?assigned_unit_id={SMALL}", ["query", "assigned_unit_id"]),
    (f"/api/orders?assigned_unit_id={BIG}", ["query", "assigned_unit_id"]),
    ("/api/orders?assigned_unit_id=0", ["query", "assigned_unit_id"]),
    ("/api/orders?created_from=0001-01-01T00:00:00%2B14:00", ["query", "created_from"]),
    ("/api/orders?created_from=1899-12-31T23:59:59", ["query", "created_from"]),
    ("/api/orders?created_to=9999-12-31T23:59:59-14:00", ["query", "created_to"]),
    ("/api/orders?created_to=99999-01-01T00:00:00", ["query", "created_to"]),
    ("/api/outages?offset=9223372036854775808", ["query", "offset"]),
    (f"/api/outages?area_id={SMALL}", ["query", "area_id"]),
    ("/api/outages?day=0001-01-01", ["query", "day"]),
    ("/api/outages?day=9999-12-31", ["query", "day"]),
    (f"/api/outages/covering?service_area_id={SMALL}", ["query", "service_area_id"]),
    (f"/api/outages/covering?customer_id={BIG}", ["query", "customer_id"]),
    ("/api/outages/covering?service_area_id=1&at=0001-01-01T00:00:00%2B14:00", ["query", "at"]),
]


@pytest.mark.rule("N3g")
@pytest.mark.parametrize("url,loc", GETS)
def test_out_of_range_query_values_are_422_naming_the_field(world, url, loc):
    r = _session(world.director).get(url)
    assert r.status_code == 422, (url, r.content)
    assert r.json()["detail"][0]["loc"] == loc


POSTS = [
    (f"/api/notices/{SMALL}/answer", {"answer": "x"}, ["path", "notice_id"]),
    (f"/api/notices/{BIG}/answer", {"answer": "x"}, ["path", "notice_id"]),
    ("/api/orders", {"business_type": "repair", "description": "x", "customer_id": BIG}, ["customer_id"]),
    ("/api/orders", {"business_type": "repair", "description": "x", "service_area_id": SMALL}, ["service_area_id"]),
    ("/api/orders", {"business_type": "repair", "description": "x", "contact_id": BIG}, ["contact_id"]),
    ("/api/orders", {"business_type": "repair", "description": "x",
                     "contact": {"source": "pbx", "started_at": "0001-01-01T00:00:00+14:00"}}, ["contact", "started_at"]),
    ("/api/outage-subscriptions", {"customer_id": BIG, "channel": "sms", "address": "13800001111"}, ["customer_id"]),
    (f"/api/outage-subscriptions/{BIG}/cancel", {}, ["path", "subscription_id"]),
    ("/api/outages", {"outage_class": "planned", "area_ids": [BIG], "planned_end": "2026-12-01T00:00:00+08:00",
                      "reason": "检修"}, ["area_ids", 0]),
    ("/api/outages", {"outage_class": "planned", "area_ids": [1], "planned_end": "9999-12-31T23:00:00-12:00",
                      "reason": "检修"}, ["planned_end"]),
]


@pytest.mark.rule("N3g")
@pytest.mark.parametrize("url,body,loc", POSTS)
def test_out_of_range_body_and_path_values_are_422_naming_the_field(world, url, body, loc):
    from hotline.workorders.models import WorkOrder

    _, key = issue_api_token(user=world.director, name="t")
    r = _post(Client(), url, body, Authorization=f"Bearer {key}")
    assert r.status_code == 422, (url, r.content)
    assert r.json()["detail"][0]["loc"] == loc
    assert WorkOrder.objects.count() == 0


@pytest.mark.rule("N3g")
def test_an_id_out_of_range_of_the_unit_and_master_fields_of_an_action(world, order):
    c = _session(world.agent)
    r = _post(c, f"/api/orders/{order.number}/transitions", {"action": "redispatch", "unit_id": BIG, "reason": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["unit_id"]


@pytest.mark.rule("N3g")
def test_an_unknown_action_is_422_naming_the_action(world, order):
    c = _session(world.agent)
    r = _post(c, f"/api/orders/{order.number}/transitions", {"action": "fly"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["action"], "msg": "故障报修工单没有“fly”操作", "type": "value_error"}]
    # A known action the state does not allow is still a conflict.
    assert _post(c, f"/api/orders/{order.number}/transitions", {"action": "close"}).status_code == 409
    assert order.events.count() == 2


@pytest.mark.rule("N3g")
@pytest.mark.parametrize("error", ["data", "overflow", "integrity"])
def test_the_safety_nets_under_the_bounds_answer_4xx_not_500(world, error):
    """Input is bounded where it is parsed; a value only the database or a
    conversion refuses still answers 422 (a conflicting write 409)."""
    from django.db import DataError, IntegrityError
    from django.test import RequestFactory
    from django.utils import translation

    from hotline.api import api

    exc = {"data": DataError("value out of range"), "overflow": OverflowError("date value out of range"),
           "integrity": IntegrityError("UNIQUE constraint failed")}[error]
    with translation.override("zh-hans"):
        r = api.on_exception(RequestFactory().get("/api/orders"), exc)
    assert r.status_code == (409 if error == "integrity" else 422)
    body = json.loads(r.content)
    if error == "integrity":
        assert body["detail"] == "与已有记录冲突，请刷新后重试。"
    else:
        assert body["detail"] == [{"loc": [], "msg": "取值超出范围或在此无效。", "type": "out_of_range"}]


@pytest.mark.rule("N3g")
def test_a_nul_character_postgresql_cannot_store_is_422_naming_the_field(world, order):
    c = _session(world.agent)
    r = c.get("/api/orders", {"business_type": "re\x00pair"})
    r2 = _post(c, f"/api/orders/{order.number}/chase-ups", {"note": "催\x00办"})
    if connection.vendor != "postgresql":  # SQLite keeps the character: no error to give
        assert r.status_code == 200 and r2.status_code in (201, 409)
        return
    assert r.status_code == 422, r.content
    assert r.json()["detail"] == [{"loc": ["query", "business_type"], "msg": "文本不能包含空字符（NUL）。",
                                   "type": "string_nul"}]
    assert r2.status_code == 422 and r2.json()["detail"][0]["loc"] == ["note"]


AUTH_ERRORS = {"400", "401", "403", "404", "409", "422", "429"}
PUBLIC_ERRORS = {"400", "404", "422", "429"}


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_every_operation_documents_its_error_answers_and_their_bodies(world):
    schema = Client().get("/api/openapi.json").json()
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 30
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        expected = AUTH_ERRORS if op.get("security") else PUBLIC_ERRORS
        if "requestBody" in op:
            expected = expected | {"413"}
        responses = op["responses"]
        assert expected <= set(responses), (where, sorted(expected - set(responses)))
        assert not {code for code in responses if code.startswith("5")}, where
        for code in expected:
            body = _resolve(schema, responses[code]["content"]["application/json"]["schema"])
            detail = _resolve(schema, body["properties"]["detail"])
            if code == "422":
                item = _resolve(schema, detail["items"])
                assert {"loc", "msg", "type"} <= set(item["properties"]), where
            else:
                assert detail["type"] == "string", (where, code)
        if "429" in expected:
            assert "Retry-After" in responses["429"].get("headers", {}), where


@pytest.mark.rule("N1g")
def test_validation_messages_are_chinese_by_default_and_english_when_asked(world):
    c = _session(world.agent)
    r = c.get("/api/orders?limit=0&offset=x&state=bogus")
    detail = {tuple(d["loc"]): d for d in r.json()["detail"]}
    assert detail[("query", "limit")]["msg"] == "不能小于 1。"
    assert detail[("query", "offset")]["msg"] == "请填写整数。"
    assert detail[("query", "state", 0)]["msg"].startswith("请填写以下之一：draft, ")
    assert detail[("query", "limit")]["type"] == "greater_than_equal"  # the code stays as it is
    strict = Client(enforce_csrf_checks=True)
    assert strict.login(username=world.agent.username, password=PASSWORD)
    r = _post(strict, "/api/orders", {"business_type": "repair"})
    assert r.status_code == 403 and r.json()["detail"].startswith("CSRF 校验失败")
    c.cookies["django_language"] = "en"
    r = c.get("/api/orders?limit=0&offset=x")
    detail = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert detail == {("query", "limit"): "Give at least 1.", ("query", "offset"): "Give a whole number."}


@pytest.mark.rule("N1g")
def test_a_token_client_gets_english_by_accept_language_and_chinese_without(world, order):
    _, key = issue_api_token(user=world.agent, name="crm")
    auth = {"Authorization": f"Bearer {key}"}
    chinese = Client(headers=auth)
    english = Client(headers={**auth, "Accept-Language": "en-US,en;q=0.9"})
    bodies = {"missing": {"description": "x"}, "bad_type": {"business_type": "repair", "description": "x",
                                                             "customer_id": "abc"}}
    r = _post(chinese, "/api/orders", bodies["missing"])
    assert r.json()["detail"] == [{"loc": ["business_type"], "msg": "此项为必填项。", "type": "missing"}]
    r = _post(english, "/api/orders", bodies["missing"])
    assert r.json()["detail"] == [{"loc": ["business_type"], "msg": "This field is required.", "type": "missing"}]
    assert chinese.get("/api/orders/GZ000").json()["detail"] == "您的范围内没有工单 GZ000。"
    assert english.get("/api/orders/GZ000").json()["detail"] == "Work order GZ000 not found in your scope."
    r = _post(chinese, f"/api/outage-subscriptions/{10**6}/cancel", {})
    assert r.status_code == 404 and r.json()["detail"] == "未找到停电订阅。"
    assert _post(english, f"/api/outage-subscriptions/{10**6}/cancel", {}).json()["detail"] == \
        "Outage subscription not found."
    r = _post(chinese, f"/api/notices/{10**6}/answer", {"answer": "x"})
    assert r.status_code == 404 and r.json()["detail"] == "未找到督办通知。"
    r = _post(english, f"/api/orders/{order.number}/transitions", {"action": "close"})
    assert r.status_code == 409 and r.json()["detail"] == "cannot “Archive” an order in state “Dispatched”"
    r = Client(headers={"Authorization": "Bearer wrong", "Accept-Language": "en"}).get("/api/orders")
    assert r.status_code == 401 and r.json()["detail"].startswith("The API token is not valid")
    # A browser session ignores its Accept-Language; its language cookie decides (as on the pages).
    session = _session(world.agent)
    assert session.get("/api/orders/GZ000", headers={"Accept-Language": "en"}).json()["detail"] == \
        "您的范围内没有工单 GZ000。"


def test_every_validation_message_type_has_a_chinese_text():
    from django.utils import translation

    from hotline.core.apitypes import _messages

    with translation.override("zh-hans"):
        untranslated = {k: v for k, v in _messages().items() if v.isascii()}
    assert not untranslated
