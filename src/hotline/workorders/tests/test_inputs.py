"""Intake inputs: every error at once, in Chinese naming the field; an
address no service area matches is confirmed for the dispatch desk."""

import re

import pytest

from hotline.workorders import services
from hotline.workorders.errors import OrderError
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def errors_by_field(html: str) -> dict[str, list[str]]:
    """Field name → the messages shown beside it."""
    out: dict[str, list[str]] = {}
    for block in re.findall(r'<(?:label|div) class="[^"]*has-error[^"]*".*?</(?:label|div)>', html, re.S):
        name = re.search(r'name="(\w+)"', block)
        out.setdefault(name.group(1) if name else "?", []).extend(re.findall(r'<span class="err">([^<]*)</span>', block))
    return out


def test_an_empty_form_shows_every_error_at_once_in_chinese(world, login):
    response = login(world.agent).post("/intake/", {})
    html = response.content.decode()
    assert response.status_code == 400
    for text in ("请选择业务类型", "请描述来电诉求", "请填写来电号码或选择客户"):
        assert text in html, text
    assert "This field is required" not in html
    assert not WorkOrder.objects.exists()


def test_a_repair_with_nothing_filled_shows_its_own_errors_together(world, login):
    html = login(world.agent).post("/intake/", {"business_type": "repair"}).content.decode()
    found = errors_by_field(html)
    assert {"sub_class", "description", "caller_phone"} <= set(found), found
    assert "请选择故障报修的故障范围" in html


def test_the_service_gathers_every_problem(world):
    with pytest.raises(OrderError) as caught:
        services.check_intake(actor=world.agent, intake=services.Intake(business_type="repair", description=""))
    fields = [e.field for e in caught.value.errors]
    assert fields[0] == caught.value.field
    assert {"sub_class", "description", "fault_scope", "caller_phone"} <= set(fields)


@pytest.mark.rule("N3g")
def test_djangos_generic_messages_are_replaced_by_ones_naming_the_field(world, login):
    html = login(world.agent).post("/intake/", {
        "business_type": "repair", "sub_class": "lv", "fault_scope": "company", "caller_phone": "13812345678",
        "description": "停电", "caller_name": "张" * 101, "service_area_id": "abc"}).content.decode()
    assert "“来电人姓名”最多 100 个字，现有 101 个。" in html
    assert "“供电区域”的值无效。" in html
    assert "Ensure this value" not in html and "Enter a whole number" not in html


@pytest.mark.rule("N3g")
def test_letters_in_the_phone_are_refused_not_stripped(world, login):
    html = login(world.agent).post("/intake/", {
        "business_type": "repair", "sub_class": "lv", "fault_scope": "company", "caller_phone": "12345abc",
        "description": "停电", "address": "城关镇南街社区12号"}).content.decode()
    assert "12345abc" in html and not WorkOrder.objects.exists()


def intake(**kw):
    data = {"business_type": "repair", "sub_class": "lv", "fault_scope": "company", "caller_name": "赵六",
            "caller_phone": "13912340000", "address": "火星路1号", "description": "停电", "reply_wanted": "on"}
    data.update(kw)
    return data


def test_an_address_no_area_matches_is_flagged_and_the_desk_confirmed(world, login, frozen):
    client = login(world.agent)
    # The address box says so as the agent types, with the confirmation.
    box = client.get("/intake/area/", {"address": "火星路1号"}).content.decode()
    assert "该地址未匹配到供电区域" in box and 'name="desk_fallback"' in box
    response = client.post("/intake/", intake())
    html = response.content.decode()
    assert response.status_code == 400 and not WorkOrder.objects.exists()
    assert "确认派往县调度台" in html and "desk_fallback" in errors_by_field(html)
    response = client.post("/intake/", intake(desk_fallback="on"))
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.assigned_unit == world.desk and order.service_area is None


def test_the_desk_needs_no_confirmation_where_an_area_or_a_unit_is_known(world, login, frozen):
    client = login(world.agent)
    assert client.post("/intake/", intake(address="城关镇南街社区12号")).status_code == 302
    # Not dispatched by area at all (a customer-internal fault is an inquiry).
    assert client.post("/intake/", intake(fault_scope="customer_internal")).status_code == 302
    # The API does not ask (no page to confirm on): the desk, as before.
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", fault_scope="company", caller_phone="13912340000", address="火星路1号",
        description="停电"))
    assert order.assigned_unit == world.desk


def test_ctrl_enter_is_bound_on_the_intake_form(world, login):
    html = login(world.agent).get("/intake/").content.decode()
    assert re.search(r'<form id="intake-form"[^>]*data-ctrl-enter', html)
