"""C5f: a call whose end never arrives (the switch lost the event, an
adapter was down) stays waiting or talking. Past a cut-off with no event
of it (``calls.stale_waiting_hours``, 4 h; ``calls.stale_talking_hours``,
12 h) it is stale: the wallboard's live figures leave it out and count it
apart, the administrator finds it in the admin with the reason, the KPIs
keep it in progress — never an invented outcome — and a late end still
completes it as any end does."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hotline.calls import kpis, selectors, services, wallboard
from hotline.calls.models import Call, CallStatus
from hotline.calls.tests.events import at, call, ev
from hotline.core import policy

pytestmark = [pytest.mark.django_db, pytest.mark.rule("C5f")]

HOUR = 3600
DAY = kpis.Period.day(dt.date(2026, 11, 17))


@pytest.fixture
def lost_ends(world, frozen, http_source):
    """At 14:00: s1 waiting since 09:00 (no event for 5 h), s2 talking since
    09:00:05 (answered, no end: 5 h — not stale yet), w1 waiting 2 min, t1
    talking 10 min, c1 answered and over."""
    services.ingest(http_source, [
        *call("s1", 0),
        *call("s2", 0, answer=5),
        *call("c1", 60, answer=5, talk=100),
    ])
    frozen.set(at(5 * HOUR))
    services.ingest(http_source, [*call("w1", 5 * HOUR - 120), *call("t1", 5 * HOUR - 600, answer=10)])
    return world


def test_the_board_counts_a_call_waiting_for_hours_apart_not_as_waiting(lost_ends):
    b = wallboard.board(center=lost_ends.center)
    assert (b.waiting, b.talking, b.stale) == (1, 2, 1)  # w1; t1 and s2 (5 h < 12 h); s1 apart
    assert b.longest_wait_s == pytest.approx(120)  # w1's, not s1's five hours
    assert (b.offered, b.answered, b.abandoned) == (1, 1, 0)  # c1 only: neither open call invented an outcome


def test_a_call_talking_past_its_cut_off_is_stale_too(lost_ends, frozen):
    frozen.set(at(13 * HOUR))  # 22:00: s2 talking with no event for 13 h, w1 waiting for 8 h; t1 talking 8 h
    b = wallboard.board(center=lost_ends.center)
    assert (b.waiting, b.talking, b.stale) == (0, 1, 3)
    assert b.longest_wait_s is None


def test_the_cut_offs_are_policy_settings(lost_ends, frozen):
    policy.set_value(key="calls.stale_waiting_hours", value="6", user=lost_ends.admin)
    b = wallboard.board(center=lost_ends.center)
    assert (b.waiting, b.stale) == (2, 0)
    assert b.longest_wait_s == pytest.approx(5 * HOUR)
    policy.set_value(key="calls.stale_talking_hours", value="4", user=lost_ends.admin)
    assert (wallboard.board(center=lost_ends.center).talking, wallboard.board(center=lost_ends.center).stale) == (1, 1)


def test_an_event_of_the_call_makes_it_live_again(lost_ends, http_source):
    # A ring now (the call was waiting after all): its last event is fresh.
    services.ingest(http_source, [ev("call.ringing", 5 * HOUR - 1, call="s1", agent="1001")])
    b = wallboard.board(center=lost_ends.center)
    assert (b.waiting, b.stale) == (2, 0)


def test_the_kpis_keep_a_stale_call_in_progress_and_a_late_end_completes_it(lost_ends, http_source, frozen):
    r = kpis.report(DAY)
    assert (r.offered, r.answered, r.abandoned, r.in_progress) == (1, 1, 0, 4)
    # The lost end arrives late (the adapter replays it): the call completes as any call.
    services.ingest(http_source, [ev("call.abandoned", 95, call="s1", reason="hangup")])
    s1 = Call.objects.get(call_id="s1")
    assert s1.status == CallStatus.ABANDONED and s1.wait_s == pytest.approx(95)
    r = kpis.report(DAY)
    assert (r.offered, r.abandoned, r.in_progress) == (2, 1, 3)
    b = wallboard.board(center=lost_ends.center)
    assert (b.offered, b.abandoned, b.waiting, b.stale) == (2, 1, 1, 0)


def test_the_reason_says_which_cut_off_it_passed(lost_ends, frozen):
    now = frozen()
    reasons = {c.call_id: selectors.stale_reason(c, now) for c in Call.objects.all()}
    assert reasons == {"s1": "等待中超过 4 小时未收到任何事件：其结束事件从未到达", "s2": "", "c1": "", "w1": "", "t1": ""}
    frozen.set(at(13 * HOUR))
    assert selectors.stale_reason(Call.objects.get(call_id="s2"), frozen()) == (
        "通话中超过 12 小时未收到任何事件：其结束事件从未到达")


def test_the_board_page_says_how_many_it_leaves_out(lost_ends, client):
    client.force_login(lost_ends.leader)
    html = client.get(f"/calls/wallboard/{lost_ends.center.pk}/live/").content.decode()
    assert re.search(r'id="wb-stale-count">\s*另有 1 个来电未收到结束，未计入', html)
    assert "等待超过 4 小时或通话超过 12 小时" in html


def test_an_administrator_finds_stale_calls_in_the_admin_with_the_reason(lost_ends, client):
    from hotline.testing import english_words

    client.force_login(lost_ends.admin)
    html = client.get("/admin/calls/call/?stale=yes").content.decode()
    assert "等待中超过 4 小时未收到任何事件：其结束事件从未到达" in html
    rows = re.findall(r'<tr[^>]*>.*?</tr>', html.split("<tbody>", 1)[1], re.DOTALL)
    assert len(rows) == 1
    assert english_words(html, allow={"agent"}) == []
    everything = client.get("/admin/calls/call/").content.decode()
    assert everything.count("其结束事件从未到达") == 1
