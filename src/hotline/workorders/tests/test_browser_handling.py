"""The station's first hour in Debian's chromium (issue 11 item 3): a supply
station resolves a repair from its inbox with the fault cause and the
measures taken, replies with the customer's opinion, and the order page
shows what it recorded to the callback agent."""

import re

import pytest

from hotline.testing import BROWSER_MARKS, SCREENSHOTS
from hotline.workorders import services
from hotline.workorders.models import State, WorkOrder
from hotline.workorders.tests.test_browser import log_in, log_out

pytestmark = BROWSER_MARKS


@pytest.mark.rule("D3.3b")
@pytest.mark.rule("D3.6d")
def test_station_resolves_a_repair_with_cause_and_measures_and_replies(page, live_server, world):
    from playwright.sync_api import expect

    base = live_server.url
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="整栋楼停电，邻居家也没电", fault_scope="company",
        customer_id=world.customers["zhang"].id, caller_phone="13812345678"))
    number = order.number

    log_in(page, base, world.station_users[0])
    expect(page).to_have_url(f"{base}/inbox/")
    row = page.locator(f"#row-{number}")
    for action, state in [("receive", "已接单"), ("arrive", "到达现场")]:
        row.locator(f"button[data-quick={action}]").click()
        expect(row.locator(".state")).to_have_text(state)

    # Resolve: the repair asks its fault cause (from its list), the measures and the restoration time.
    row.locator("summary[data-open=resolve]").click()
    form = row.locator("details.record-form[open] form")
    expect(form.locator(f"label[for=rec-{number}-resolve-cause]")).to_have_text(re.compile("故障原因"))
    expect(form.locator(f"#rec-{number}-resolve-cause option")).to_contain_text(["请选择…", "设备老化", "树障", "雷击"])
    form.locator(f"#rec-{number}-resolve-cause").select_option(label="树障")
    form.locator(f"#rec-{number}-resolve-measures").fill("清除线路上的树枝，更换烧毁的熔断器")
    page.screenshot(path=f"{SCREENSHOTS}/hotline-inbox-resolve-record.png", full_page=True)
    form.locator(f"#rec-{number}-resolve-measures").press("Control+Enter")
    expect(row.locator(".state")).to_have_text("处理完毕")
    expect(page.locator("#inbox-live .msg-success")).to_contain_text(number)

    # Reply: the customer's opinion at the end of the repair (D3.3b).
    row.locator("summary[data-open=reply]").click()
    form = row.locator("details.record-form[open] form")
    form.locator(f"#rec-{number}-reply-customer_opinion").select_option(label="满意")
    form.locator("button[data-record=reply]").click()
    expect(page.locator(f"#row-{number}")).to_have_count(0)  # replied: back with the center
    order.refresh_from_db()
    assert order.state == State.REPLIED
    assert [e["text"] for e in order.handling_record][:2] == ["树障", "清除线路上的树枝，更换烧毁的熔断器"]

    # The callback agent reads on the order page what was found and done.
    log_out(page)
    log_in(page, base, world.agent)
    page.goto(f"{base}/orders/{number}/")
    record = page.locator("#handling-record")
    expect(record.locator("[data-action=resolve] h3")).to_have_text("处理完毕")
    expect(record.locator("[data-item=cause]")).to_have_text("树障")
    expect(record.locator("[data-item=measures]")).to_have_text("清除线路上的树枝，更换烧毁的熔断器")
    expect(record.locator("[data-item=restored_at]")).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d"))
    expect(record.locator("[data-action=reply] [data-item=customer_opinion]")).to_have_text("满意")
    expect(page.locator("#timeline")).to_contain_text("树障")
    page.screenshot(path=f"{SCREENSHOTS}/hotline-order-record.png", full_page=True)
    assert WorkOrder.objects.get(pk=order.pk).handling_record[-1]["value"] == "satisfied"
    assert page.problems == []
