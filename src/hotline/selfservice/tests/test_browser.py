"""D7i in Debian's chromium: a caller on a phone opens the self-service
page without logging in and looks an outage up by account number."""

import datetime as dt
from urllib.parse import urlsplit

import pytest

from hotline.outages.tests.factories import published
from hotline.testing import BROWSER_MARKS, SCREENSHOTS

pytestmark = [*BROWSER_MARKS, pytest.mark.rule("D7i")]


def test_an_outage_looked_up_by_account_number_on_a_phone(page, live_server, world, desk):
    from playwright.sync_api import expect

    now = dt.datetime.now(dt.UTC)
    outage = published(desk, [world.areas["town0"]], start=now - dt.timedelta(hours=1), reason="10kV城关线检修")
    base = live_server.url
    elsewhere = []
    page.route("**/*", lambda route: (route.continue_() if urlsplit(route.request.url).netloc == urlsplit(base).netloc
                                      else (elsewhere.append(route.request.url), route.abort())))
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{base}/self-service/")
    expect(page.locator("h1#h-outages")).to_have_text("停电信息查询")
    expect(page.locator("input[name=kind][value=account]")).to_be_checked()
    page.fill("#id_query", "t0001")
    page.click("#outage-form button[type=submit]")

    answer = page.locator("#outage-answer")
    expect(answer).to_contain_text("户号 ****0001")
    expect(answer.locator(".ss-active .ss-outage")).to_have_count(1)
    expect(answer).to_contain_text(outage.number)
    expect(answer).to_contain_text("10kV城关线检修")
    expect(answer).to_contain_text("计划停电")
    expect(page.locator("#id_query")).to_have_value("")  # the account is not left on the screen
    assert "张伟" not in page.content()
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=f"{SCREENSHOTS}/hotline-self-service.png", full_page=True)
    assert page.problems == [] and elsewhere == []
