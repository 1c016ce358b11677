"""D7i: bad input gets a clear Chinese error naming the field, on the page
(which keeps what was typed) and in the API (400), never a 500."""

import pytest

from hotline.selfservice.tests.conftest import LOOKUP, PROGRESS, api, result_html

pytestmark = [pytest.mark.django_db, pytest.mark.rule("D7i")]

OUTAGE_CASES = [
    ({"kind": "account", "query": ""}, "query", "请输入户号。"),
    ({"kind": "account", "query": "  "}, "query", "请输入户号。"),
    ({"kind": "account", "query": "1" * 31}, "query", "户号由 4 至 30 位字母、数字或短横线组成。"),
    ({"kind": "account", "query": "张伟的户号"}, "query", "户号由 4 至 30 位字母、数字或短横线组成。"),
    ({"kind": "phone", "query": ""}, "query", "请输入电话号码。"),
    ({"kind": "phone", "query": "138abcd5678"}, "query", "电话号码只能包含数字（可以有空格和短横线）。"),
    ({"kind": "phone", "query": "1381234"}, "query", "手机号码应为11位"),
    ({"kind": "phone", "query": "1" * 25}, "query", "电话号码最多 24 个字符。"),
    ({"kind": "address", "query": "镇"}, "query", "请至少输入 2 个字的地址（乡镇、村或社区）。"),
    ({"kind": "address", "query": "城" * 101}, "query", "地址最多 100 个字。"),
    ({"kind": "name", "query": "张伟"}, "kind", "请选择查询方式：户号、电话号码或地址。"),
    ({}, "kind", "请选择查询方式：户号、电话号码或地址。"),
]

BAD_NUMBER = "工单编号由 4 至 24 位字母和数字组成，例如 GZ26111700001。"
ORDER_CASES = [
    ({"number": "", "phone_tail": "1234"}, "number", "请输入工单编号。"),
    ({"number": "GZ<script>", "phone_tail": "1234"}, "number", BAD_NUMBER),
    ({"number": "G" * 25, "phone_tail": "1234"}, "number", BAD_NUMBER),
    ({"number": "GZ26111700001", "phone_tail": ""}, "phone_tail", "请输入电话号码的后四位。"),
    ({"number": "GZ26111700001", "phone_tail": "123"}, "phone_tail", "请输入电话号码的后四位（正好四位数字）。"),
    ({"number": "GZ26111700001", "phone_tail": "12345"}, "phone_tail", "请输入电话号码的后四位（正好四位数字）。"),
    ({"number": "GZ26111700001", "phone_tail": "12a4"}, "phone_tail", "请输入电话号码的后四位（正好四位数字）。"),
]


@pytest.mark.parametrize(("body", "field", "message"), OUTAGE_CASES)
def test_bad_outage_queries(world, frozen, anonymous, body, field, message):
    r = api(anonymous, LOOKUP, body)
    assert r.status_code == 400
    assert r.json()["field"] == field and message in r.json()["detail"]
    page = anonymous.post("/self-service/outages/", body)
    html = page.content.decode()
    assert page.status_code == 200 and message in html and 'id="outage-answer"' not in html
    if body.get("query", "").strip() and len(body["query"]) <= 100 and "<" not in body["query"]:
        assert f'value="{body["query"]}"' in html  # what was typed is kept for correcting


@pytest.mark.parametrize(("body", "field", "message"), ORDER_CASES)
def test_bad_order_queries(world, frozen, anonymous, body, field, message):
    r = api(anonymous, PROGRESS, body)
    assert r.status_code == 400
    assert r.json() == {"detail": message, "field": field}
    page = anonymous.post("/self-service/orders/", body)
    assert page.status_code == 200 and message in page.content.decode()
    assert 'id="order-answer"' not in page.content.decode()


def test_fullwidth_digits_and_json_numbers_are_understood(world, frozen, anonymous):
    assert api(anonymous, LOOKUP, {"kind": "phone", "query": "１３８１２３４５６７８"}).status_code == 200
    r = api(anonymous, PROGRESS, {"number": "GZ26111700001", "phone_tail": 1234})
    assert r.status_code == 404  # read as "1234": a well-formed query that matches nothing


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"kind": ["account"], "query": {"a": 1}}'])
def test_a_body_that_is_not_the_documented_json_is_refused_not_a_500(world, frozen, anonymous, body):
    for path in (LOOKUP, PROGRESS):
        assert api(anonymous, path, body).status_code in (400, 422)


def test_the_pages_need_no_login_and_get_sends_back_to_the_forms(world, anonymous):
    r = anonymous.get("/self-service/")
    html = r.content.decode()
    assert r.status_code == 200 and 'id="outage-form"' in html and 'id="order-form"' in html
    assert "停电信息查询" in html and "工单进度查询" in html
    assert "login" not in result_html(r) and 'href="/login/' not in html
    assert anonymous.get("/self-service/outages/").status_code == 302
    assert anonymous.get("/self-service/orders/")["Location"] == "/self-service/"


def test_the_api_is_public_and_documents_its_errors(world, anonymous):
    spec = anonymous.get("/api/openapi.json").json()
    for path in ("/api/public/outages/lookup", "/api/public/orders/progress"):
        operation = spec["paths"][path]["post"]
        assert set(operation["responses"]) >= {"200", "400", "404", "422", "429"}
        assert not operation.get("security")
