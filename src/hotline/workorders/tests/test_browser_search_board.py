"""The center's first hour in Debian's chromium, one walk per role: the
agent finds a customer by a phone tail, takes the report from the keyboard
and finds the order again by the search; the shift leader filters the
board, reassigns an order with a reason and reminds the unit; the director
searches the whole center. Also: Ctrl+Enter saves from a checkbox and an
address outside every area asks for the dispatch desk. (The planner's walk
is in planning/tests/test_browser.py.)"""

import re

import pytest

from hotline.testing import BROWSER_MARKS, SCREENSHOTS
from hotline.timelimits.services import sweep_until_idle
from hotline.workorders import services
from hotline.workorders.models import WorkOrder, WorkOrderEvent
from hotline.workorders.tests.test_browser import log_in

pytestmark = BROWSER_MARKS


def repair(world, phone, **kw):
    data = dict(business_type="repair", sub_class="lv", description="停电", customer_id=None, caller_phone=phone,
                fault_scope="company", address="城关镇南街社区12号")
    data.update(kw)
    return services.create_order(actor=world.agent, intake=services.Intake(**data))


@pytest.mark.rule("D3.1a")
@pytest.mark.rule("D3.1b")
@pytest.mark.rule("N1g")
def test_agent_first_hour_phone_tail_intake_then_finds_the_order(page, live_server, world):
    """The agent's first hour: a caller gives the last four digits of a phone;
    the customer is found by them (with the open order they already have),
    the repair report taken and dispatched from the keyboard, and the order
    found again by the same four digits in the order search, by keyboard."""
    from playwright.sync_api import expect

    base = live_server.url
    zhang = world.customers["zhang"]
    complaint = services.create_order(actor=world.agent2, intake=services.Intake(
        business_type="complaint", sub_class="service", description="营业厅态度差", customer_id=zhang.id,
        caller_name="张伟", caller_phone="13812345678"))
    other = repair(world, "13700005678", address="东山乡桃园村3组")  # another caller, the same tail
    repair(world, "13600009999", address="西岭乡高山村")  # elsewhere: no duplicate of Zhang's fault

    log_in(page, base, world.agent)
    expect(page).to_have_url(f"{base}/intake/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("5678")
    result = page.locator("#customer-results .result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("张伟")
    expect(result.locator("[data-match=phone_tail]")).to_have_text("电话尾号")
    expect(result.locator("[data-open-orders]")).to_have_text("1 个未结工单")
    page.keyboard.press("Enter")  # takes the first
    expect(page.locator("#customer-card.chosen")).to_contain_text("张伟")
    expect(page.locator("#f-caller_phone")).to_have_value("13812345678")
    expect(page.locator("#area-box")).to_contain_text("城关供电所")
    expect(page.locator("#f-business_type")).to_be_focused()
    expect(page.locator("#f-business_type")).to_have_value("repair")
    page.keyboard.press("Tab")
    expect(page.locator("#f-sub_class")).to_be_focused()
    page.select_option("#f-sub_class", label="低压故障")
    # The duplicate check looks again with each choice; wait for its answer: no
    # open repair at this place (Zhang's complaint is no duplicate of a fault).
    with page.expect_response(lambda r: "/intake/duplicates/" in r.url):
        page.check("input[name=fault_scope][value=company]")
    expect(page.locator("#dup-check .dup-proposal")).to_have_count(0)
    page.locator("#f-description").focus()
    page.keyboard.type("家里停电，邻居也没电")
    page.screenshot(path=f"{SCREENSHOTS}/walk-agent-intake.png", full_page=True)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r"/orders/GZ\d+/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("#order-state")).to_have_text("已派单")
    expect(page.locator(".order-head")).to_contain_text("城关供电所")
    order = WorkOrder.objects.get(number=number)
    assert (order.customer, order.owner, order.assigned_unit) == (zhang, world.agent, world.stations[0])
    assert (order.caller_name, order.caller_phone, order.address) == ("张伟", "13812345678", zhang.address)

    # Later the customer calls back: the order search by the same tail, by keyboard.
    page.click("nav.mainnav a[data-nav=search]")
    expect(page).to_have_url(f"{base}/orders/search/")
    expect(page.locator("#s-number")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#s-phone")).to_be_focused()
    page.keyboard.type("5678")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"phone=5678"))
    links = page.locator("#search-results [data-result]")
    expect(links).to_have_count(3)  # the new order, Zhang's complaint, the other caller's order
    expect(page.locator("#search-count")).to_have_text("3")
    expect(page.locator("#search-results thead")).to_contain_text("最近时限")
    assert [links.nth(i).inner_text() for i in range(3)] == [number, other.number, complaint.number]  # newest first
    expect(page.locator("#search-results tbody tr").first).to_contain_text("故障报修 / 低压故障")
    page.locator("#s-phone").press("ArrowDown")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#s-phone")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.screenshot(path=f"{SCREENSHOTS}/walk-agent-search.png", full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/orders/{number}/$"))
    expect(page.locator("#order-state")).to_have_text("已派单")
    expect(page.locator("#timeline")).to_contain_text("派单")
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


@pytest.mark.rule("D2g")
@pytest.mark.rule("D5d")
def test_leader_first_hour_board_filter_reassign_and_remind(page, live_server, world, frozen):
    """The shift leader's first hour: the board's counts, a filter by unit,
    an order reassigned from the board with a reason (number and clocks
    kept), then a reminder to the unit now holding it."""
    from playwright.sync_api import expect

    from hotline.timelimits.models import Clock, Notice

    base = live_server.url
    order = repair(world, "13900001234")
    repair(world, "13700001234", address="东山乡桃园村3组")
    frozen.advance(minutes=10)
    sweep_until_idle()
    clocks = set(Clock.objects.filter(order=order).values_list("pk", "metric"))
    log_in(page, base, world.leader)
    expect(page).to_have_url(f"{base}/board/")
    expect(page.locator("[data-count=overdue] strong")).not_to_have_text("0")
    page.select_option("select[name=unit]", label="城关供电所")
    page.wait_for_url(re.compile(r"unit="))
    row = page.locator(f"tr[data-order='{order.number}']")
    expect(page.locator("tr[data-order]")).to_have_count(row.count())  # only 城关's order is left
    row.locator("summary").click()
    row.locator("select[name=unit_id]").select_option(label="东山供电所")
    row.locator("input[name=reason]").fill("地址属东山乡")
    row.locator("button", has_text="改派").click()
    expect(page.locator("#board-live .msg-success")).to_contain_text("已改派至东山供电所")
    order.refresh_from_db()
    assert order.assigned_unit == world.stations[1]
    assert WorkOrderEvent.objects.get(order=order, kind="redispatch").payload["reason"] == "地址属东山乡"
    assert {pk for pk, _ in clocks} <= set(Clock.objects.filter(order=order).values_list("pk", flat=True))
    assert "unit=" in page.url  # the filter stays

    # The reminder goes to the unit that holds the order now; the filter is 城关's, so clear it.
    page.goto(f"{base}/board/")
    row = page.locator(f"tr[data-order='{order.number}']").first
    row.locator("summary").click()
    row.locator("input[name=text]").fill("请尽快到场处理")
    row.locator("button[value=remind]").click()
    expect(page.locator("#board-live .msg-success")).to_contain_text("已向东山供电所发送催办")
    reminder = Notice.objects.get(order=order, kind="manual")
    assert (reminder.unit, reminder.created_by, reminder.message) == (world.stations[1], world.leader, "请尽快到场处理")
    event = WorkOrderEvent.objects.get(order=order, kind="reminder")
    assert event.payload["message"] == "请尽快到场处理" and event.payload["unit"] == "东山供电所"
    page.screenshot(path=f"{SCREENSHOTS}/walk-leader-board.png", full_page=True)
    assert not page.problems, page.problems


@pytest.mark.rule("N4b")
@pytest.mark.rule("D4c")
def test_director_first_hour_searches_the_center(page, live_server, world, frozen):
    """The director's first hour: the search over the whole center — every
    agent's orders, not only the director's own — narrowed by an address
    fragment, a business type, the orders past a limit, the archive."""
    from playwright.sync_api import expect

    base = live_server.url
    mine = repair(world, "13812345678", customer_id=world.customers["zhang"].id)
    theirs = services.create_order(actor=world.agent2, intake=services.Intake(
        business_type="repair", sub_class="lv", description="村里停电", fault_scope="company",
        customer_id=world.customers["li"].id, caller_name="李娜", caller_phone="0571-87654321"))
    complaint = services.create_order(actor=world.agent2, intake=services.Intake(
        business_type="complaint", sub_class="service", description="营业厅态度差",
        customer_id=world.customers["wang"].id, caller_name="王芳", caller_phone="15900001111"))
    cancelled = repair(world, "13900002222")
    services.transition(order=cancelled, action="cancel", actor=world.agent, payload={"reason": "客户重复来电"})
    frozen.advance(hours=1)
    sweep_until_idle()  # the repairs are past their accept limit

    log_in(page, base, world.director)
    expect(page).to_have_url(f"{base}/board/")
    page.click("nav.mainnav a[data-nav=search]")
    expect(page).to_have_url(f"{base}/orders/search/")
    # The center's open orders, whoever took them.
    numbers = page.locator("#search-results [data-result]")
    expect(page.locator("#search-count")).to_have_text("3")
    assert {numbers.nth(i).inner_text() for i in range(3)} == {mine.number, theirs.number, complaint.number}
    expect(page.locator("#s-state")).to_have_value("open")

    page.locator("#s-address").fill("桃园")
    page.locator("#s-address").press("Enter")
    page.wait_for_url(re.compile(r"address="))
    expect(numbers).to_have_count(1)
    expect(numbers).to_have_text(theirs.number)
    expect(page.locator("#search-results tbody")).to_contain_text("李娜")

    page.locator("#s-address").fill("")
    page.select_option("#s-business_type", label="投诉")  # submits by itself
    page.wait_for_url(re.compile(r"business_type=complaint"))
    expect(numbers).to_have_count(1)
    expect(numbers).to_have_text(complaint.number)
    expect(page.locator("#search-results tbody")).to_contain_text("营销部")

    page.select_option("#s-business_type", value="")
    page.wait_for_url(re.compile(r"business_type=&"))
    page.select_option("#s-overdue", label="已超时")
    page.locator("#s-name").press("Enter")
    page.wait_for_url(re.compile(r"overdue=yes"))
    shown = {numbers.nth(i).inner_text() for i in range(numbers.count())}
    assert {mine.number, theirs.number} <= shown and cancelled.number not in shown
    rows = page.locator("#search-results tbody tr")
    for i in range(rows.count()):
        expect(rows.nth(i).locator("td").last).to_contain_text("超时")
    page.screenshot(path=f"{SCREENSHOTS}/walk-director-search.png", full_page=True)

    page.select_option("#s-overdue", value="")
    page.select_option("#s-state", label="已办结（归档、合并、撤销）")
    page.locator("#s-name").press("Enter")
    page.wait_for_url(re.compile(r"state=closed"))
    expect(numbers).to_have_count(1)
    expect(numbers).to_have_text(cancelled.number)
    expect(page.locator("#search-results tbody")).to_contain_text("已撤销")
    assert not page.problems, page.problems
