"""/api/docs in Debian's chromium: Swagger UI draws the API's texts in the
reader's language, and on a Chinese page its own buttons and headings too
(core/static/core/api-docs.js); paths are drawn as code."""

from __future__ import annotations

import pytest

from hotline.testing import BROWSER_MARKS, SCREENSHOTS, english_words

pytestmark = [*BROWSER_MARKS, pytest.mark.rule("N1g")]

# What stays as it is on the Chinese page: JSON types and example values, the
# security schemes' kinds, the session cookie's name, HTTP methods and header
# names (the operations' aria-labels are "post /api/orders"), the schema
# named State, Swagger UI's id-like label of the token input, the product's
# name (the page title) and a file type.
CODES = {"object", "string", "integer", "boolean", "array", "null", "true", "false", "bearer", "http", "cookie",
         "sessionid", "get", "post", "retry-after", "state", "auth-bearer-value", "hotline", "xlsx"}


def _open(page, base: str) -> None:
    page.goto(f"{base}/api/docs")
    page.locator(".opblock").first.wait_for()


def test_the_api_docs_page_is_chinese_for_a_chinese_reader(page, live_server, world):
    from playwright.sync_api import expect

    _open(page, live_server.url)
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    expect(page.locator(".opblock-tag").first).to_contain_text("工单")
    first = page.locator(".opblock").first
    expect(first.locator(".opblock-summary-description")).to_have_text("登记工单")
    expect(page.locator(".btn.authorize").first).to_contain_text("认证")
    # Every path is drawn as code, one per operation.
    assert page.locator(".opblock-summary code.hotline-path").count() == page.locator(".opblock").count() >= 30

    first.locator(".opblock-summary").click()
    expect(first.locator(".opblock-section-header h4").first).to_have_text("参数")
    expect(first.locator(".try-out__btn")).to_have_text("试一试")
    first.locator(".try-out__btn").click()
    expect(first.locator(".btn.execute")).to_have_text("执行")
    expect(first.locator(".try-out__btn.cancel")).to_have_text("取消")
    expect(first.locator(".responses-inner")).to_contain_text("已创建")
    expect(first.locator(".responses-inner")).to_contain_text("记录的当前状态不允许")
    page.locator(".btn.authorize").first.click()
    expect(page.locator(".modal-ux-header h3")).to_have_text("可用的认证方式")

    words = english_words(page.content(), allow=CODES)
    page.screenshot(path=f"{SCREENSHOTS}/hotline-api-docs-zh.png", full_page=True)
    assert words == [], " ".join(words)
    assert page.problems == []


def test_the_api_docs_page_stays_english_for_an_english_reader(page, live_server, world):
    from playwright.sync_api import expect

    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    _open(page, live_server.url)
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.locator(".opblock-tag").first).to_contain_text("work orders")
    first = page.locator(".opblock").first
    expect(first.locator(".opblock-summary-description")).to_have_text("Record a work order")
    first.locator(".opblock-summary").click()
    expect(first.locator(".try-out__btn")).to_have_text("Try it out")
    assert page.locator(".opblock-summary code.hotline-path").count() == page.locator(".opblock").count()
    assert page.problems == []
