"""Repair intake that thinks, in Debian's chromium (issue 9): a report from
inside a published outage is recorded as an inquiry; a second report of one
fault is proposed as a duplicate and merged."""

import datetime as dt
import re

import pytest

from hotline.core import clock
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.outages import services as outages
from hotline.outages.models import OutageClass
from hotline.testing import BROWSER_MARKS, PASSWORD, SCREENSHOTS
from hotline.workorders import services
from hotline.workorders.models import State, WorkOrder

pytestmark = BROWSER_MARKS


def log_in(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state("load")


def take_call(page, phone):
    from playwright.sync_api import expect

    page.locator("#q").fill(phone)
    expect(page.locator("#customer-results .result")).to_have_count(1)
    page.locator("#q").press("Enter")
    expect(page.locator("#f-caller_phone")).to_have_value(phone)
    page.select_option("#f-sub_class", label="低压故障")


@pytest.mark.rule("D3.1d", "D7k", "D3.4a", "D3.4b", "D3.4e", "D7i")
def test_an_outage_call_becomes_an_inquiry_and_a_second_report_is_merged(page, live_server, world):
    from playwright.sync_api import expect

    desk = org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk, display_name="调度员")
    start = clock.now() - dt.timedelta(hours=1)
    outage = outages.draft(actor=desk, publish=True, data=outages.OutageInput(
        outage_class=OutageClass.TEMPORARY, area_ids=[world.areas["t0"].pk], planned_start=start,
        planned_end=start + dt.timedelta(hours=5), reason="10kV城关线临时检修"))
    base = live_server.url

    # 1. A caller inside the published outage: the form shows the notice.
    log_in(page, base, world.agent)
    take_call(page, "13812345678")
    check = page.locator("#intake-check")
    expect(check).to_contain_text("该地址在已发布的停电范围内")
    expect(check).to_contain_text("10kV城关线临时检修")
    page.screenshot(path=f"{SCREENSHOTS}/hotline-intake-outage.png", full_page=True)
    check.get_by_role("button", name="按咨询记录").click()
    expect(page.locator("input[name=fault_scope][value=planned_outage]")).to_be_checked()
    page.fill("#f-description", "家里没电，已告知停电原因和预计恢复时间")
    page.locator("#f-description").press("Control+Enter")
    page.wait_for_url(re.compile(r"/orders/ZX\d+/$"))
    inquiry = WorkOrder.objects.get(number=page.url.rstrip("/").rsplit("/", 1)[1])
    assert inquiry.business_type.code == "inquiry" and inquiry.state == State.CLOSED and inquiry.assigned_unit is None
    created = inquiry.events.get(kind="create").payload
    assert created["intake_check"]["outages"] == [outage.number] and created["intake_decision"] == "followed"

    # 2. Another transformer area, no outage: a first report, then a neighbour's call of the same fault.
    t1 = org.create_service_area(name="南街3号台区", code="t-a0t3", level="transformer_area", unit=world.stations[0],
                                 parent=world.areas["v0"])
    org.create_customer(account_number="t0009", name="赵敏", address="城关镇南街社区30号", phone_numbers=["13700003333"],
                        service_area=t1)
    org.create_customer(account_number="t0010", name="钱进", address="城关镇南街社区32号", phone_numbers=["13700004444"],
                        service_area=t1)
    first = services.create_order(actor=world.agent2, intake=services.Intake(
        business_type="repair", sub_class="lv", description="整栋楼都停电了，邻居家也没电", fault_scope="company",
        caller_phone="13700003333", service_area_id=t1.pk))
    page.goto(f"{base}/intake/")
    take_call(page, "13700004444")
    page.check("input[name=fault_scope][value=company]")
    page.fill("#f-description", "我家没电了，楼里都黑了")
    page.locator("#f-description").dispatch_event("change")
    proposal = page.locator("#dup-check")
    expect(proposal).to_contain_text("可能是已报修的同一故障")
    expect(proposal).to_contain_text(first.number)
    expect(page.locator("#f-merge_into")).to_be_checked()
    page.screenshot(path=f"{SCREENSHOTS}/hotline-intake-duplicate.png", full_page=True)
    page.locator("#f-description").press("Control+Enter")
    page.wait_for_url(re.compile(r"/orders/GZ\d+/$"))
    merged = WorkOrder.objects.get(number=page.url.rstrip("/").rsplit("/", 1)[1])
    assert merged.state == State.MERGED and merged.master == first and merged.assigned_unit is None
    assert merged.events.get(kind="create").payload["duplicate_decision"] == "merge"

    # 3. The next caller need not call: the customer looks the outage up on the self-service page.
    page.click("form[action='/logout/'] button")
    page.wait_for_url(re.compile(r"/login/"))
    page.goto(f"{base}/self-service/")
    page.fill("#id_query", "t0001")
    page.click("#outage-form button[type=submit]")
    answer = page.locator(".ss-active")
    expect(answer).to_contain_text(outage.number)
    expect(answer).to_contain_text("10kV城关线临时检修")
    page.screenshot(path=f"{SCREENSHOTS}/hotline-self-service-outage.png", full_page=True)
