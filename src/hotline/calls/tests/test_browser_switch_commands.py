"""The switch commands in Debian's chromium (C1a): the agent sets not ready
on the intake page; the desk says the command went to the switch; the
outbox's worker round delivers it to a local Asterisk manager interface;
the same page shows the switch's confirmation, without a reload."""

from __future__ import annotations

import pytest

from hotline.calls import services as calls
from hotline.calls.models import AgentIdentity
from hotline.calls.tests.browser import log_in
from hotline.calls.tests.test_esl import serve_in_thread
from hotline.calls.tests.test_switch_commands import AmiSwitch
from hotline.core import outbox
from hotline.testing import BROWSER_MARKS

pytestmark = BROWSER_MARKS


@pytest.mark.rule("C1a")
def test_not_ready_on_the_page_reaches_the_switch_and_its_confirmation_shows_without_a_reload(page, live_server,
                                                                                             world):
    from playwright.sync_api import expect

    switch = AmiSwitch(members=["SIP/1001"])
    port, stop = serve_in_thread(switch)
    try:
        source = calls.create_source(name="asterisk-ami", kind="asterisk_ami")
        source.command_host, source.command_port = "127.0.0.1", port
        source.command_username, source.command_secret = "hotline", "s3cret"
        source.save()
        AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
        log_in(page, live_server.url, world.agent)
        page.evaluate("window.__sameDocument = true")
        bar = page.locator(".desk-bar")
        bar.locator("[data-desk-action=sign_in]").click()
        # No sign-in queues configured: said on the page, not silently skipped.
        expect(bar.locator("[data-switch=phone]")).to_contain_text("请同时在话机上设置")

        bar.locator("summary[data-desk-action=not_ready]").click()
        bar.locator("[data-reason=break]").click()
        expect(bar.locator("[data-desk-state=not_ready]")).to_be_visible()
        expect(bar.locator("[data-switch=sent]")).to_contain_text("已发送至交换机")
        assert switch.members["SIP/1001"]["paused"] is False

        outbox.deliver(threads=1)  # the worker's delivery round
        assert switch.members["SIP/1001"] == {"paused": True, "reason": "break", "queues": {"95598"}}
        expect(bar.locator("[data-switch=confirmed]")).to_contain_text("交换机已确认", timeout=3000)
        assert page.evaluate("window.__sameDocument") is True  # the poll showed it
    finally:
        stop()
