"""Issue 10's whole path in Debian's chromium, on a call of the traffic
simulator: the simulator rings the agent; the agent's page pops the
customer within a second; the agent records an order from the pop; the
wallboard, open on a second page, counts the call within two seconds.

The simulated center is a tiny one: the simulator's 95598 general queue
and the test world's agent on a shift, the caller one of the world's
customers (``Center.callers`` with ``Behaviour.known_caller_share`` 1).
Seeded, from a fixed Tuesday morning: the period ends just after the day's
first call of the seed, so the run holds that one call and the agent's
day around it. Its events go out as the simulator sends them live
(``simulator_feed.feed_live``: each once its time has come, through
``calls.services.ingest`` from the simulator's own source), the center's
clock jumped ahead to the instants the test wants — the agent ready, the
ring, the answer, the end — so the pages see them in order and no step
waits for simulated seconds (C1g, W4b)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest

from hotline.calls import services, simulator, simulator_feed
from hotline.calls.models import Call, CallStatus
from hotline.calls.tests.browser import (
    BOARD_BOUND_S,
    POP_BOUND_S,
    board_number,
    board_shows_within,
    center_clock,
    log_in,
    order_number,
    pop_shown_after,
    watch_pop,
)
from hotline.testing import BROWSER_MARKS, browser_page
from hotline.workorders.models import OrderContact, WorkOrder

pytestmark = BROWSER_MARKS

SEED = 95598
# A Tuesday morning in the center's zone, the morning peak near.
ANCHOR = dt.datetime(2026, 11, 17, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def tiny_center(*, agent_ref: str, caller: str) -> simulator.Center:
    """One queue (the 95598 general inquiries, patient callers) and one
    agent on a shift around the anchor, every caller ``caller``; the ring
    is answered (no unanswered rings)."""
    general = next(q for q in simulator_feed.default_queues() if q.name == "general")
    general = dataclasses.replace(general, patience_s=3600.0, short_abandon_share=0.0)
    shift = simulator.Shift(ANCHOR - dt.timedelta(hours=1), ANCHOR + dt.timedelta(hours=8))
    return simulator.Center(queues=(general,), agents=(simulator.AgentSpec(agent_ref, (shift,)),), tz=ANCHOR.tzinfo,
                            behaviour=simulator.Behaviour(no_answer_share=0.0, known_caller_share=1.0),
                            callers=(caller,))


class Live:
    """The simulation's events sent live (``feed_live``) up to the instant
    the test moves the center's clock to."""

    def __init__(self, source, events, running):
        self.source, self.events, self.clock, self.sent = source, list(events), running, 0

    def next_at(self, event_type: str) -> dt.datetime:
        """When the next event of that type not sent yet happens."""
        return next(e.at for e in self.events[self.sent:] if e.type == event_type)

    def until(self, at: dt.datetime) -> services.IngestResult:
        """The clock jumped to ``at``, every event due by then sent at once."""
        self.clock.jump(at)
        due = [e for e in self.events[self.sent:] if e.at <= at]
        # All of them are due: feed_live sends them in one go and never waits.
        result = simulator_feed.feed_live(self.source, due, wait=lambda _seconds: True)
        assert (result.accepted, result.duplicate, result.unplaced) == (len(due), 0, 0), result
        self.sent += len(due)
        return result


@pytest.fixture
def board_page(page):
    """A second page, its own log-in: the wallboard's."""
    other = browser_page(page.context.browser)
    yield other
    other.context.close()


@pytest.mark.rule("C1g", "C2a", "C2b", "C2c", "C4b", "C5f", "W4b")
def test_a_simulated_call_pops_on_the_agents_page_gets_its_order_and_counts_on_the_wallboard(
        page, board_page, live_server, world):
    from playwright.sync_api import expect

    zhang = world.customers["zhang"]
    caller = zhang.phones.get().number
    base = live_server.url
    with center_clock(ANCHOR) as running:
        # The simulated center: its one call, seeded.
        source = simulator_feed.simulator_source()
        ref = simulator_feed.agent_ref(world.agent)
        simulator_feed.ensure_identities(source, [world.agent])
        center = tiny_center(agent_ref=ref, caller=caller)
        first = simulator.arrivals(center, center.queues[0], ANCHOR, ANCHOR + dt.timedelta(hours=2), SEED)[0]
        sim = simulator.simulate(center, start=ANCHOR, end=first + dt.timedelta(milliseconds=1), seed=SEED)
        assert len(sim.calls) == 1, sim.calls
        truth = sim.calls[0]
        assert (truth.caller, truth.agent, truth.offered_at) == (caller, ref, first)
        assert truth.ended_at is not None and truth.rings_unanswered == 0
        live = Live(source, sim.events, running)
        print("simulated:", ", ".join(f"{e.type} {e.at.astimezone(ANCHOR.tzinfo):%H:%M:%S.%f}"[:-3] for e in sim.events))

        # The agent's intake page, open before their shift's events.
        log_in(page, base, world.agent)
        assert page.url.endswith("/intake/")
        page.evaluate("window.__sameDocument = true")
        bar = page.locator(".desk-bar")
        expect(bar.locator("[data-desk-state=logged_out]")).to_be_visible()
        # The wallboard of the agent's center on the shift leader's page.
        log_in(board_page, base, world.leader)
        board_page.goto(f"{base}/calls/wallboard/{world.center.pk}/")
        board_page.wait_for_function("() => document.querySelector('.wb-grid') "
                                     "&& !document.body.classList.contains('stale')")
        expect(board_page.locator(board_number("wb-offered"))).to_have_text("0")

        # 1. The simulated agent signs in and is ready: the agent's page and the board follow.
        live.until(live.next_at(simulator.OFFERED) - dt.timedelta(milliseconds=1))
        expect(bar.locator("[data-desk-state=ready]")).to_be_visible()
        expect(board_page.locator(board_number("wb-agents-ready"))).to_have_text("1")

        # 2. The call is offered and rings the agent: the customer pops within a second of the ring's ingest.
        watch_pop(page)
        ring_at = live.next_at(simulator.RINGING)
        started = time.time()
        live.until(ring_at)
        pop_s = pop_shown_after(page, started)
        print(f"pop shown {pop_s:.3f} s after the ring's ingest began")
        assert pop_s <= POP_BOUND_S, f"the pop showed {pop_s:.3f} s after the ring's ingest (C2b: within 1 s)"
        pop = page.locator("#desk-pop")
        expect(pop.locator(f"[data-customer='{zhang.pk}']")).to_contain_text("张伟")
        expect(pop).to_contain_text("城关镇南街社区12号")
        expect(pop).to_contain_text(caller)
        expect(bar.locator("[data-desk-state=ringing]")).to_be_visible()
        assert page.evaluate("window.__sameDocument") is True  # no reload
        call = Call.objects.get(source=source, call_id=truth.call_id)
        assert call.contact_id is not None and call.caller_number == caller

        # 3. Answered: talking. On the board the call is connected, not yet counted today (C5f).
        live.until(live.next_at(simulator.ANSWERED))
        expect(bar.locator("[data-desk-state=talking]")).to_be_visible()
        expect(board_page.locator(board_number("wb-agents-talking"))).to_have_text("1")
        expect(board_page.locator("#wb-waiting .t-sub")).to_contain_text("1")
        expect(board_page.locator(board_number("wb-offered"))).to_have_text("0")
        expect(board_page.locator(board_number("wb-answered"))).to_have_text("0")

        # 4. While talking, F2 opens the intake pre-filled from the pop; the order is the call's contact's.
        page.keyboard.press("F2")
        page.wait_for_url(re.compile(r"/intake/\?"))
        expect(page.locator("#f-caller_phone")).to_have_value(caller)
        expect(page.locator("#f-caller_name")).to_have_value("张伟")
        expect(page.locator("#customer-card")).to_contain_text(zhang.account_number)
        expect(page.locator("input[name=contact_id]")).to_have_value(str(call.contact_id))
        expect(page.locator("#desk-pop")).to_be_visible()
        page.select_option("#f-business_type", "inquiry")
        expect(page.locator("#f-sub_class option[value=tariff]")).to_have_count(1)
        page.select_option("#f-sub_class", "tariff")
        page.fill("#f-description", "咨询峰谷电价")
        page.locator("#f-description").press("Control+Enter")
        page.wait_for_url(re.compile(r"/orders/ZX\d+/$"))
        order = WorkOrder.objects.get(number=order_number(page))
        assert order.customer_id == zhang.pk
        assert set(OrderContact.objects.filter(contact_id=call.contact_id).values_list("order_id", flat=True)) == {
            order.pk}

        # 5. The call ends: today's offered and answered count it on the open board within 2 s.
        started = time.monotonic()
        live.until(live.next_at(simulator.ENDED))
        counted_s = board_shows_within(board_page, "wb-offered", "1", started)
        print(f"the board counted the call {counted_s:.3f} s after its end's ingest began")
        assert counted_s <= BOARD_BOUND_S
        expect(board_page.locator(board_number("wb-answered"))).to_have_text("1")
        expect(board_page.locator(board_number("wb-agents-talking"))).to_have_text("0")
        expect(board_page.locator("#wb-waiting .t-sub")).to_contain_text("0")

        # 6. The rest of the call (its after-call work): the agent is ready again.
        live.until(sim.events[-1].at)
        assert live.sent == len(sim.events)
        expect(page.locator(".desk-bar [data-desk-state=ready]")).to_be_visible()
        call.refresh_from_db()
        assert call.status == CallStatus.ENDED and call.agent_id == world.agent.pk
    assert page.problems == [] and board_page.problems == []
