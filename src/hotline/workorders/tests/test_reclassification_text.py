"""Why an order was recorded as another type is kept in the history in the
user's language: an agent working in Chinese reads Chinese there and in the
answer of an inquiry (the walk found the English text on an order page)."""

from __future__ import annotations

import pytest
from django.utils import translation

from hotline.workorders import services

pytestmark = pytest.mark.django_db


@pytest.mark.rule("D1n", "N1g")
def test_a_complaint_recorded_as_an_opinion_says_why_in_chinese(world, frozen):
    with translation.override("zh-hans"):
        order = services.create_order(actor=world.agent, intake=services.Intake(
            business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id,
            caller_phone="13911112222", virtual_number=True))
    reason = order.events.get(kind="create").payload["reason"]
    assert order.business_type.code == "opinion" and reason.startswith("匿名、不需回复或虚拟号码的投诉")


@pytest.mark.rule("D3.1d", "N1g")
def test_an_outage_call_recorded_as_an_inquiry_answers_in_chinese(world, frozen):
    with translation.override("zh-hans"):
        order = services.create_order(actor=world.agent, intake=services.Intake(
            business_type="repair", sub_class="lv", description="停电了", customer_id=world.customers["zhang"].id,
            fault_scope="planned_outage"))
    assert order.business_type.code == "inquiry"
    answer = order.events.get(kind="answer").payload["note"]
    assert "按咨询处理" in answer and "inquiry" not in answer
