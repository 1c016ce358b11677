"""In Debian's chromium: the agent finds a customer by a phone tail and an
order by the keyboard alone; the shift leader filters the board and
reassigns an order with a reason; Ctrl+Enter saves from a checkbox and an
address outside every area asks for the dispatch desk."""

import datetime as dt
import re

from hotline.testing import BROWSER_MARKS, SCREENSHOTS
from hotline.timelimits.services import sweep_until_idle
from hotline.workorders import services
from hotline.workorders.models import WorkOrder, WorkOrderEvent
from hotline.workorders.tests.test_browser import log_in, log_out

pytestmark = BROWSER_MARKS


def repair(world, phone, **kw):
    data = dict(business_type="repair", sub_class="lv", description="停电", customer_id=None, caller_phone=phone,
                fault_scope="company", address="城关镇南街社区12号")
    data.update(kw)
    return services.create_order(actor=world.agent, intake=services.Intake(**data))


def test_search_by_keyboard_and_customer_lookup_by_phone_tail(page, live_server, world):
    from playwright.sync_api import expect

    base = live_server.url
    first = repair(world, "13900001234")
    second = repair(world, "13700001234", address="东山乡桃园村3组")
    repair(world, "13600009999")
    log_in(page, base, world.agent)
    # Intake: the last four digits find Zhang among the customers.
    page.locator("#q").type("5678")
    expect(page.locator("#customer-results .result")).to_have_count(1)
    expect(page.locator("#customer-results .result")).to_contain_text("张伟")
    expect(page.locator("#customer-results [data-match=phone_tail]")).to_have_text("电话尾号")

    # The search, by keyboard only: type the tail, Enter, ↓ to the results, Enter opens.
    page.goto(f"{base}/orders/search/")
    expect(page.locator("#s-number")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#s-phone")).to_be_focused()
    page.keyboard.type("1234")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"phone=1234"))
    links = page.locator("#search-results [data-result]")
    expect(links).to_have_count(2)
    expect(page.locator("#search-results")).to_contain_text("最近时限")
    page.locator("#s-phone").press("ArrowDown")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#s-phone")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.screenshot(path=f"{SCREENSHOTS}/hotline-search.png", full_page=True)
    newest = links.nth(0).inner_text()
    assert newest == second.number and {first.number, second.number} == {links.nth(i).inner_text() for i in range(2)}
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/orders/{newest}/$"))
    assert not page.problems, page.problems


def test_intake_desk_fallback_and_ctrl_enter_from_a_checkbox(page, live_server, world):
    from playwright.sync_api import expect

    base = live_server.url
    log_in(page, base, world.agent)
    expect(page.locator("#f-business_type")).to_have_value("repair")  # the default
    page.select_option("#f-sub_class", label="低压故障")
    page.check("input[name=fault_scope][value=company]")
    page.fill("#f-caller_phone", "13912340000")
    page.fill("#f-address", "火星路1号")
    expect(page.locator("#area-box")).to_contain_text("该地址未匹配到供电区域")
    page.fill("#f-description", "停电")
    page.locator("#f-description").press("Control+Enter")
    expect(page.locator(".alert-error")).to_be_visible()
    expect(page.locator("#area-box")).to_contain_text("确认派往县调度台")
    assert not WorkOrder.objects.exists()
    page.check("#f-desk_fallback")
    page.locator("#f-desk_fallback").press("Control+Enter")  # from the checkbox itself
    page.wait_for_url(re.compile(r"/orders/GZ\d+/$"))
    assert WorkOrder.objects.get().assigned_unit == world.desk
    # The refused save answered 400 on purpose (the form with its errors).
    assert not [p for p in page.problems if "status of 400" not in p], page.problems


def test_leader_filters_the_board_and_reassigns_with_a_reason(page, live_server, world, frozen):
    from playwright.sync_api import expect

    base = live_server.url
    order = repair(world, "13900001234")
    repair(world, "13700001234", address="东山乡桃园村3组")
    frozen.advance(minutes=10)
    sweep_until_idle()
    log_in(page, base, world.leader)
    expect(page).to_have_url(f"{base}/board/")
    expect(page.locator("[data-count=overdue] strong")).not_to_have_text("0")
    page.select_option("select[name=unit]", label="城关供电所")
    page.wait_for_url(re.compile(r"unit="))
    row = page.locator(f"tr[data-order='{order.number}']")
    row.locator("summary").click()
    row.locator("select[name=unit_id]").select_option(label="东山供电所")
    row.locator("input[name=reason]").fill("地址属东山乡")
    row.locator("button", has_text="改派").click()
    expect(page.locator("#board-live .msg-success")).to_contain_text("已改派至东山供电所")
    page.screenshot(path=f"{SCREENSHOTS}/hotline-board.png", full_page=True)
    order.refresh_from_db()
    assert order.assigned_unit == world.stations[1]
    assert WorkOrderEvent.objects.get(order=order, kind="redispatch").payload["reason"] == "地址属东山乡"
    assert "unit=" in page.url  # the filter stays
    assert not page.problems, page.problems
