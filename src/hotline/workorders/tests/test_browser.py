"""The repair scenario end to end in Debian's chromium, through the pages
only: agent intake → station inbox → the agent reads the timeline."""

import re

import pytest

from hotline.testing import BROWSER_MARKS, PASSWORD, SCREENSHOTS
from hotline.workorders.models import State, WorkOrder

SHOTS = SCREENSHOTS
pytestmark = BROWSER_MARKS


def log_in(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state("load")


def log_out(page):
    page.click("form[action='/logout/'] button")
    page.wait_for_url(re.compile(r"/login/"))


def test_repair_report_from_intake_to_resolved(page, live_server, world):
    from playwright.sync_api import expect

    base = live_server.url
    station = world.station_users[0]

    # The agent lands on intake with the cursor in the search box.
    log_in(page, base, world.agent)
    expect(page).to_have_url(f"{base}/intake/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("13812345678")
    expect(page.locator("#customer-results .result")).to_have_count(1)
    page.keyboard.press("Enter")  # takes the first result
    expect(page.locator("#customer-card.chosen")).to_contain_text("张伟")
    expect(page.locator("#customer-card")).to_contain_text("城关供电所")
    expect(page.locator("#f-caller_name")).to_have_value("张伟")
    expect(page.locator("#f-caller_phone")).to_have_value("13812345678")
    expect(page.locator("#area-box")).to_contain_text("城关供电所")
    expect(page.locator("#f-business_type")).to_be_focused()

    # Sub-classes reload with the business type.
    page.select_option("#f-business_type", label="投诉")
    expect(page.locator("#f-sub_class option", has_text="行风")).to_have_count(1)
    expect(page.locator("input[name=fault_scope]")).to_have_count(0)
    page.select_option("#f-business_type", label="故障报修")
    expect(page.locator("#f-sub_class option", has_text="低压故障")).to_have_count(1)
    page.select_option("#f-sub_class", label="低压故障")
    page.check("input[name=fault_scope][value=company]")
    page.fill("#f-description", "整栋楼停电，邻居家也没电")
    page.screenshot(path=f"{SHOTS}/hotline-intake.png", full_page=True)
    page.locator("#f-description").press("Control+Enter")

    page.wait_for_url(re.compile(r"/orders/GZ\d+/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("#order-state")).to_have_text("已派单")
    expect(page.locator(".order-head")).to_contain_text("城关供电所")
    order = WorkOrder.objects.get(number=number)
    assert order.assigned_unit == world.stations[0] and order.owner == world.agent
    assert order.customer == world.customers["zhang"] and order.sub_class.name == "低压故障"

    # The station works it from its inbox.
    log_out(page)
    log_in(page, base, station)
    expect(page).to_have_url(f"{base}/inbox/")
    row = page.locator(f"#row-{number}")
    expect(row).to_contain_text("138****5678")
    for action, state in [("receive", "已接单"), ("arrive", "到达现场")]:
        page.locator(f"#row-{number} button[data-quick={action}]").click()
        expect(page.locator(f"#row-{number} .state")).to_have_text(state)
    # Resolving a repair records its fault cause and measures (the handling record).
    page.locator(f"#row-{number} summary[data-open=resolve]").click()
    page.select_option(f"#rec-{number}-resolve-cause", label="设备老化")
    page.fill(f"#rec-{number}-resolve-measures", "更换烧毁的熔断器")
    page.locator(f"#row-{number} button[data-record=resolve]").click()
    expect(page.locator(f"#row-{number} .state")).to_have_text("处理完毕")
    page.screenshot(path=f"{SHOTS}/hotline-inbox.png", full_page=True)
    order.refresh_from_db()
    assert order.state == State.RESOLVED

    # The agent sees the whole history on the order page.
    log_out(page)
    log_in(page, base, world.agent)
    page.goto(f"{base}/orders/{number}/")
    timeline = page.locator("#timeline")
    for kind in ["已受理", "派单", "接单", "到达现场", "处理完毕"]:
        expect(timeline).to_contain_text(kind)
    expect(timeline.locator("li")).to_have_count(5)
    expect(page.locator("#order-state")).to_have_text("处理完毕")
    page.screenshot(path=f"{SHOTS}/hotline-order.png", full_page=True)
    assert page.problems == []
