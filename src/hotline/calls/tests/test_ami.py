"""The Asterisk AMI adapter (C1e): every queue event it reads, through the
ingest path, compared with the calls and agent states worked out by hand;
then the runner against a real local TCP server speaking AMI (banner,
Login action and response, event frames) that replays the fixture —
twice, over two connections, giving the same calls."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from hotline.calls.adapters import asterisk_ami as ami
from hotline.calls.adapters._stream import Backoff
from hotline.calls.models import (
    CallEvent,
    Reason,
)
from hotline.calls.services import create_source, ingest
from hotline.calls.tests.conftest import FIXTURES, T0
from hotline.calls.tests.derived import check_fixture_day

FIXTURE = FIXTURES / "ami_queue_events.txt"
A, B, C, D, F, G = ("1794877200.1", "1794877300.5", "1794877400.7", "1794877500.9", "1794877600.11",
                    "1794877900.20")


def frames() -> list[str]:
    text = FIXTURE.read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [b.strip() for b in body.replace("\r\n", "\n").split("\n\n") if b.strip()]


def events() -> list[dict[str, str]]:
    out = []
    for frame in frames():
        headers = {}
        for line in frame.splitlines():
            name, _sep, value = line.partition(":")
            headers[name.strip()] = value.strip()
        out.append(headers)
    return out


def s(seconds: float) -> dt.datetime:
    """The fixture's time: its timestamps carry 100 µs past the second."""
    return T0 + dt.timedelta(seconds=seconds, microseconds=100)


# Worked out by hand from the fixture's events.
EXPECTED = {
    A: dict(status="ended", queue="95598", caller_number="13800001111", called_number="95598", offered_at=s(0),
            answered_at=s(24), ended_at=s(144), wait_s=24.0, ring_s=6.0, ring_no_answer=1, talk_s=120.0,
            hold_s=20.0, holds=1, wrapup_s=None, hung_up_by="customer", abandon_reason="", agent_ref="SIP/1002",
            transfers=0),
    B: dict(status="abandoned", queue="95598", caller_number="13900002222", called_number="95598", offered_at=s(100),
            answered_at=None, ended_at=s(130), wait_s=30.0, ring_s=None, ring_no_answer=0, talk_s=None,
            hold_s=None, holds=0, wrapup_s=None, hung_up_by="", abandon_reason="hangup", agent_ref="", transfers=0),
    C: dict(status="ended", queue="95598", caller_number="13700003333", called_number="95598", offered_at=s(200),
            answered_at=s(204), ended_at=s(304), wait_s=4.0, ring_s=3.0, ring_no_answer=0, talk_s=100.0,
            hold_s=0.0, holds=0, wrapup_s=None, hung_up_by="agent", abandon_reason="", agent_ref="SIP/1001",
            transfers=0),
    # AgentDump before any answer: an exit without an answer is an abandon (C5c)
    D: dict(status="abandoned", queue="95598", caller_number="13600004444", called_number="95598", offered_at=s(300),
            answered_at=None, ended_at=s(305), wait_s=5.0, ring_s=None, ring_no_answer=0, talk_s=None,
            hold_s=None, holds=0, wrapup_s=None, hung_up_by="", abandon_reason="hangup", agent_ref="", transfers=0),
    F: dict(status="ended", queue="95598", caller_number="13500005555", called_number="95598", offered_at=s(400),
            answered_at=s(403), ended_at=s(463), wait_s=3.0, ring_s=1.0, ring_no_answer=0, talk_s=60.0,
            hold_s=0.0, holds=0, wrapup_s=None, hung_up_by="", abandon_reason="", agent_ref="SIP/1002",
            transfers=1),
    # QueueCallerLeave with no answer: the queue's timeout (C5c)
    G: dict(status="abandoned", queue="95598", caller_number="13400006666", called_number="95598",
              offered_at=s(700), answered_at=None, ended_at=s(760), wait_s=60.0, ring_s=None, ring_no_answer=0,
              talk_s=None, hold_s=None, holds=0, wrapup_s=None, hung_up_by="", abandon_reason="timeout",
              agent_ref="", transfers=0),
}
RINGS = {
    A: [("SIP/1001", "no_answer", 15.0), ("SIP/1002", "answered", 6.0)],
    B: [("SIP/1001", "canceled", 29.0)],
    C: [("SIP/1001", "answered", 3.0)],
    D: [("SIP/1002", "canceled", 4.0)],
    F: [("SIP/1002", "answered", 1.0)],
}
def check_day(source, world) -> None:
    check_fixture_day(source, world, calls=EXPECTED, rings=RINGS, not_ready=("lunch", s(500)),
                      logged_out_at=s(600), unknown_event="QueueMemberStatus")


@pytest.fixture
def ami_source(db):
    return create_source(name="asterisk-ami-1", kind="asterisk_ami")


# --- the mapping ------------------------------------------------------------------------

def test_every_event_the_adapter_reads_maps_to_its_normalised_event():
    mapped = {}
    for event in events():
        for out in ami.map_events([event]):
            mapped.setdefault(event["Event"], set()).add(out.type)
    assert mapped == {
        "QueueMemberAdded": {"agent.login"}, "QueueCallerJoin": {"call.offered"}, "AgentCalled": {"call.ringing"},
        "AgentRingNoAnswer": {"call.ring_no_answer"}, "AgentConnect": {"call.answered"},
        "AgentComplete": {"call.ended", "call.transferred"}, "QueueCallerAbandon": {"call.abandoned"},
        "AgentDump": {"call.ended"}, "QueueMemberPaused": {"agent.not_ready", "agent.ready"},
        "QueueMemberRemoved": {"agent.logout"}, "QueueMemberStatus": {"unknown"},
    }  # Hold / Unhold need the queue callers seen before them (map_events of the whole stream)
    stream = ami.map_events(events())
    held = [(e.type, e.call_id) for e in stream if e.type in ("call.held", "call.resumed")]
    assert held == [("call.held", A), ("call.resumed", A)]  # not the hold of a channel of no queue call
    # the Leaves: of A, C (answered next), B (after its abandon) say nothing; G's alone is an abandon
    abandons = [(e.call_id, e.payload["event"], e.payload["reason"]) for e in stream if e.type == "call.abandoned"]
    assert abandons == [(B, "QueueCallerAbandon", "hangup"), (G, "QueueCallerLeave", "timeout")]


@pytest.mark.rule("C5c")
def test_a_queue_leave_is_held_back_until_it_is_known_whether_the_call_was_answered():
    stream = ami.AmiStream(grace_s=2.0)
    join = {"Event": "QueueCallerJoin", "Uniqueid": "9.1", "Queue": "q", "Timestamp": "100.0"}
    leave = {"Event": "QueueCallerLeave", "Uniqueid": "9.1", "Queue": "q", "Timestamp": "130.0"}
    connect = {"Event": "AgentConnect", "Uniqueid": "9.1", "Queue": "q", "Interface": "SIP/1", "Timestamp": "130.0",
               "HoldTime": "30", "RingTime": "2"}
    assert [e.type for e in stream.feed(join, clock=0.0)] == ["call.offered"]
    assert stream.feed(leave, clock=0.0) == []
    assert stream.expire(1.0) == []  # within the grace: perhaps answered
    assert [e.type for e in stream.feed(connect, clock=1.5)] == ["call.answered"]
    assert stream.expire(10.0) == [] and stream.flush() == []  # answered: the Leave was no abandon
    stream.feed({**join, "Uniqueid": "9.2"}, clock=20.0)
    stream.feed({**leave, "Uniqueid": "9.2"}, clock=20.0)
    assert stream.expire(21.0) == []
    [gone] = stream.expire(22.0)
    assert (gone.type, gone.call_id, gone.payload["reason"], gone.occurred_at) == (
        "call.abandoned", "9.2", "timeout", dt.datetime.fromtimestamp(130, dt.UTC))
    assert stream.expire(30.0) == []
    # a caller leaving one queue and joining the next at once: the first exit is settled by the join
    stream.feed({**join, "Uniqueid": "9.3"}, clock=40.0)
    stream.feed({**leave, "Uniqueid": "9.3"}, clock=40.0)
    again = stream.feed({**join, "Uniqueid": "9.3", "Queue": "r", "Timestamp": "130.0"}, clock=40.0)
    assert [(e.type, e.queue) for e in again] == [("call.abandoned", "q"), ("call.offered", "r")]


@pytest.mark.rule("C1e")
def test_the_fields_of_the_queue_events():
    by = {(e["Event"], e.get("Interface", "")): e for e in events()}
    [rna] = ami.map_event(by["AgentRingNoAnswer", "SIP/1001"])
    assert (rna.call_id, rna.agent, rna.queue, rna.payload["ring_s"]) == (A, "SIP/1001", "95598", 15.0)  # ms
    [connect] = ami.map_event(by["AgentConnect", "SIP/1001"])
    assert (connect.payload["wait_s"], connect.payload["ring_s"]) == (4.0, 3.0)  # HoldTime is the wait (C5d)
    assert connect.occurred_at == s(204)
    paused = ami.map_event({"Event": "QueueMemberPaused", "Queue": "q", "Interface": "SIP/7", "Paused": "1",
                            "PausedReason": "training", "Timestamp": "1794877200.5"})
    assert [(p.type, p.agent, p.payload["reason"]) for p in paused] == [("agent.not_ready", "SIP/7", "training")]
    # no Uniqueid on a call event: kept as unreadable
    [bad] = ami.map_event({"Event": "AgentConnect", "Queue": "q", "Interface": "SIP/7", "Timestamp": "1"})
    assert (bad.type, bad.reason) == ("unknown", Reason.INVALID)
    assert ami.map_event({"Event": "Newchannel", "Uniqueid": "1.1"}) == []


@pytest.mark.rule("C5h")
def test_the_event_id_is_stable_and_tells_simultaneous_rings_apart():
    first, second = ami.map_events(events()), ami.map_events(events())
    assert [e.source_event_id for e in first] == [e.source_event_id for e in second]
    assert len({e.source_event_id for e in first}) == len(first)
    ring = {"Event": "AgentCalled", "Uniqueid": A, "Linkedid": A, "Queue": "q", "Timestamp": "1794877200.1"}
    one = ami.map_event({**ring, "Interface": "SIP/1001"})[0].source_event_id
    two = ami.map_event({**ring, "Interface": "SIP/1002"})[0].source_event_id  # ringall: same instant
    assert one != two and len(one) <= 120


@pytest.mark.rule("C1e")
@pytest.mark.rule("C5c")
@pytest.mark.rule("C5d")
def test_the_fixture_through_ingest_gives_the_calls_worked_out_by_hand(world, ami_source):
    result = ingest(ami_source, ami.map_events(events()))
    assert result.unplaced == 1
    check_day(ami_source, world)


@pytest.mark.rule("C5h")
def test_the_stream_shuffled_and_twice_gives_the_same_calls(world, ami_source):
    import random

    stream = ami.map_events(events())
    twice = stream + stream
    random.Random(7).shuffle(twice)
    result = ingest(ami_source, twice)
    assert result.duplicate == len(stream)
    check_day(ami_source, world)


# --- the runner against a real AMI server -----------------------------------------------

class AmiServer:
    """A local AMI peer: banner, Login (refused the first ``refuse`` times),
    a Success answer to any other action, then the fixture's events; it
    closes the connection after each of the first ``replays`` sessions."""

    def __init__(self, *, replays: int = 1, refuse: int = 0, close_after: bool = False):
        self.replays, self.refuse, self.close_after = replays, refuse, close_after
        self.sessions = 0
        self.logins: list[tuple[str, str]] = []
        self.server = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, reader, writer):
        writer.write(b"Asterisk Call Manager/5.0.1\r\n")
        await writer.drain()
        try:
            while True:
                action = await self.read_action(reader)
                if action is None:
                    break
                aid = action.get("actionid", "")
                if action.get("action", "").lower() == "login":
                    self.logins.append((action.get("username", ""), action.get("secret", "")))
                    if self.refuse > 0 or action.get("secret") != "s3cret":
                        self.refuse -= 1
                        writer.write(f"Response: Error\r\nActionID: {aid}\r\n"
                                     f"Message: Authentication failed\r\n\r\n".encode())
                        await writer.drain()
                        continue
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n"
                                 f"Message: Authentication accepted\r\n\r\n".encode())
                    writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
                    self.sessions += 1
                    if self.sessions <= self.replays:
                        for frame in frames():
                            writer.write(frame.replace("\n", "\r\n").encode() + b"\r\n\r\n")
                    await writer.drain()
                    if self.close_after and self.sessions < self.replays:
                        break
                else:
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode())
                    await writer.drain()
        finally:
            writer.close()

    @staticmethod
    async def read_action(reader) -> dict | None:
        headers = {}
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode().strip()
            if not text:
                if headers:
                    return headers
                continue
            name, _sep, value = text.partition(":")
            headers[name.strip().lower()] = value.strip()


async def run_against(server: AmiServer, source, *, expect_events: int, timeout: float = 30.0) -> ami.AmiRunner:
    port = await server.start()
    runner = ami.AmiRunner(source, host="127.0.0.1", port=port, username="hotline", secret="s3cret", batch=7,
                           flush_s=0.05, backoff=Backoff(0.05, 0.2), grace_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while runner.ingester.events < expect_events and loop.time() < deadline and not task.done():
        await asyncio.sleep(0.05)
    stop.set()
    await task
    server.server.close()
    await server.server.wait_closed()
    return runner


@pytest.fixture
def ami_live_source(transactional_db):
    return create_source(name="asterisk-ami-live", kind="asterisk_ami")


@pytest.mark.rule("C1e")
@pytest.mark.django_db(transaction=True)
def test_the_runner_reads_a_real_ami_server_into_the_same_calls(world, ami_live_source):
    n = len(ami.map_events(events()))
    server = AmiServer(replays=1, refuse=1)  # the first log-in refused: tried again after the backoff
    runner = asyncio.run(run_against(server, ami_live_source, expect_events=n))
    assert server.logins == [("hotline", "s3cret"), ("hotline", "s3cret")]
    assert runner.logins == 1
    assert runner.ingester.events == n and runner.ingester.total.accepted == n
    check_day(ami_live_source, world)


@pytest.mark.rule("C5h")
@pytest.mark.rule("C1h")
@pytest.mark.django_db(transaction=True)
def test_the_same_stream_delivered_twice_over_a_reconnect_gives_identical_calls(world, ami_live_source):
    n = len(ami.map_events(events()))
    server = AmiServer(replays=2, close_after=True)  # the switch drops the connection after the first replay
    runner = asyncio.run(run_against(server, ami_live_source, expect_events=2 * n))
    assert server.sessions >= 2 and runner.logins >= 2
    assert runner.ingester.total.accepted == n and runner.ingester.total.duplicate == n
    assert CallEvent.objects.filter(source=ami_live_source).count() == n
    check_day(ami_live_source, world)


@pytest.mark.rule("C1e")
@pytest.mark.django_db(transaction=True)
def test_the_calls_ami_command_reads_the_manager_interface_until_stopped(world):
    import io

    from django.core.management import call_command

    from hotline.calls.models import EventSource
    from hotline.calls.tests.test_esl import serve_in_thread, signal_when_stored

    n = len(ami.map_events(events()))
    port, stop = serve_in_thread(AmiServer(replays=1))
    watcher = signal_when_stored("ami-cmd", n)
    out = io.StringIO()
    try:
        call_command("calls-ami", "--source", "ami-cmd", "--host", "127.0.0.1", "--port", str(port),
                     "--username", "hotline", "--secret", "s3cret", "--flush", "0.05", stdout=out)
    finally:
        watcher.join(10)
        stop()
    assert out.getvalue().strip() == f"events {n} stored {n} duplicate 0 unplaced 1"
    source = EventSource.objects.get(name="ami-cmd")
    assert source.kind == "asterisk_ami"
    check_day(source, world)


@pytest.mark.rule("C3a")
@pytest.mark.rule("C3b")
@pytest.mark.rule("C3d")
@pytest.mark.rule("C3e")
@pytest.mark.rule("C3g")
@pytest.mark.rule("C5c")
@pytest.mark.rule("C5e")
def test_the_kpis_of_the_fixture(world, ami_source):
    from hotline.calls import kpis

    ingest(ami_source, ami.map_events(events()))
    period = kpis.Period(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=1))
    r = kpis.report(period, source=ami_source,
                    settings=kpis.Settings(T=20, S=5, R=9, N=3, ring_cycle=3, ring_pass_by="seconds_or_rings"))
    # A (wait 24), C (4), F (3) answered; B (30), D (5, the AgentDump) and G (60, timeout) abandoned
    assert (r.offered, r.answered, r.abandoned, r.short_abandoned, r.in_progress) == (6, 3, 3, 1, 0)
    assert r.answered_within_T == 2
    assert r.answer_rate == pytest.approx(3 / 6)
    assert r.abandon_rate == pytest.approx(3 / 6)
    assert r.service_level == pytest.approx(2 / 6)
    assert r.service_level_excl_short == pytest.approx(2 / 5)
    assert r.service_level_of_answered == pytest.approx(2 / 3)
    assert r.asterisk_sl2 == pytest.approx((2 + 1) / (3 + 3))  # abandoned within 20 s: D
    assert r.asa_s == pytest.approx((24 + 4 + 3) / 3)
    assert r.aht_s == pytest.approx(((120 + 20) + 100 + 60) / 3)  # AMI reports hold (A: 20 s), no wrap-up
    assert r.aht_basis == kpis.AHT_TALK_HOLD  # and says so (C5e)
    assert r.ring_pass_rate == pytest.approx(1.0)  # rings 6, 3, 1 s
    assert r.avg_ring_s == pytest.approx((6 + 3 + 1) / 3)
    assert (r.ring_unknown, r.ring_no_answer) == (0, 1)
