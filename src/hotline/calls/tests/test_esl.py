"""The FreeSWITCH mod_callcenter adapter (C1f): every CC-Action it reads,
through the ingest path, compared with the calls and agent states worked
out by hand; then the runner against a real local TCP server speaking the
event socket (auth/request, auth, event plain, text/event-plain frames)
that replays the fixture — twice, over two connections, giving the same
calls."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from hotline.calls.adapters import freeswitch_esl as esl
from hotline.calls.adapters._stream import Backoff
from hotline.calls.models import (
    CallEvent,
    EventSource,
    Reason,
)
from hotline.calls.services import ingest
from hotline.calls.tests.conftest import FIXTURES, T0
from hotline.calls.tests.derived import check_fixture_day

FIXTURE = FIXTURES / "esl_callcenter_events.txt"
A = "a1a1a1a1-0000-4000-8000-000000000001"
B = "b1b1b1b1-0000-4000-8000-000000000002"
C = "c1c1c1c1-0000-4000-8000-000000000003"
D = "d1d1d1d1-0000-4000-8000-000000000004"
F = "e1e1e1e1-0000-4000-8000-000000000005"
Q = "95598@default"


def bodies() -> list[str]:
    text = "\n".join(line for line in FIXTURE.read_text().splitlines() if not line.startswith("#"))
    return [b.strip() + "\n" for b in text.split("\n\n") if b.strip()]


def events() -> list[dict[str, str]]:
    return [esl.parse_plain(b) for b in bodies()]


def s(seconds: float) -> dt.datetime:
    """The fixture's event time: Event-Date-Timestamp carries 250 µs past the second."""
    return T0 + dt.timedelta(seconds=seconds, microseconds=250)


# Worked out by hand from the fixture's events. mod_callcenter reports no
# hold and no after-call work: both stay empty (C5e).
EXPECTED = {
    A: dict(status="ended", queue=Q, caller_number="13800001111", offered_at=s(0), answered_at=s(22),
            ended_at=s(142), wait_s=22.0, ring_s=5.0, ring_no_answer=1, talk_s=120.0, hold_s=None, wrapup_s=None,
            hung_up_by="customer", abandon_reason="", agent_ref="1002"),
    B: dict(status="abandoned", queue=Q, caller_number="13900002222", offered_at=s(100), answered_at=None,
            ended_at=s(131), wait_s=31.0, ring_s=None, ring_no_answer=0, talk_s=None, hold_s=None, wrapup_s=None,
            hung_up_by="", abandon_reason="hangup", agent_ref=""),
    C: dict(status="abandoned", queue=Q, caller_number="13700003333", offered_at=s(200), answered_at=None,
            ended_at=s(260), wait_s=60.0, ring_s=None, ring_no_answer=0, talk_s=None, hold_s=None, wrapup_s=None,
            hung_up_by="", abandon_reason="timeout", agent_ref=""),
    D: dict(status="abandoned", queue=Q, caller_number="13600004444", offered_at=s(300), answered_at=None,
            ended_at=s(305), wait_s=5.0, ring_s=None, ring_no_answer=0, talk_s=None, hold_s=None, wrapup_s=None,
            hung_up_by="", abandon_reason="key", agent_ref=""),
    F: dict(status="ended", queue=Q, caller_number="13500005555", offered_at=s(400), answered_at=s(404),
            ended_at=s(484), wait_s=4.0, ring_s=3.0, ring_no_answer=0, talk_s=80.0, hold_s=None, wrapup_s=None,
            hung_up_by="agent", abandon_reason="", agent_ref="1001"),
}
RINGS = {
    A: [("1001", "no_answer", 15.0), ("1002", "answered", 5.0)],
    B: [("1001", "canceled", 30.0)],
    F: [("1001", "answered", 3.0)],
}
def check_day(source, world) -> None:
    check_fixture_day(source, world, calls=EXPECTED, rings=RINGS, not_ready=("On Break", s(500)),
                      logged_out_at=s(600), unknown_event="x-test-unknown-action")


@pytest.fixture
def esl_source(db):
    return esl.source_named("freeswitch-1")


# --- the mapping ------------------------------------------------------------------------

def test_every_cc_action_maps_to_its_normalised_events():
    mapped: dict[str, set] = {}
    for event in events():
        mapped.setdefault(event["CC-Action"], set()).update(e.type for e in esl.map_event(event))
    assert mapped == {
        "agent-status-change": {"agent.login", "agent.ready", "agent.not_ready", "agent.logout"},
        "member-queue-start": {"call.offered"}, "agent-offering": {"call.ringing"},
        "bridge-agent-fail": {"call.ring_no_answer"}, "bridge-agent-start": {"call.answered"},
        "bridge-agent-end": {"call.ended"},
        "member-queue-end": {"call.abandoned"},  # Cancel; Terminated says nothing bridge-agent-end did not
        "agent-state-change": set(), "members-count": set(), "x-test-unknown-action": {"unknown"},
    }


@pytest.mark.rule("C1f")
def test_the_fields_of_the_callcenter_events():
    by = {(e["CC-Action"], e.get("CC-Member-Session-UUID", ""), e.get("CC-Agent", "")): e for e in events()}
    start = by["member-queue-start", A, ""]
    assert start["CC-Queue"] == Q  # url-decoded
    [offered] = esl.map_event(start)
    assert (offered.call_id, offered.queue, offered.payload["caller_number"], offered.occurred_at) == (
        A, Q, "13800001111", s(0))
    [fail] = esl.map_event(by["bridge-agent-fail", A, "1001"])
    assert (fail.agent, fail.payload["ring_s"], fail.payload["hangup_cause"]) == ("1001", 15.0, "NO_ANSWER")
    [answer] = esl.map_event(by["bridge-agent-start", A, "1002"])
    assert (answer.payload["wait_s"], answer.payload["ring_s"]) == (22.0, 5.0)  # answered − joined, − called
    [cancel] = esl.map_event(by["member-queue-end", D, ""])
    assert (cancel.payload["reason"], cancel.payload["wait_s"]) == ("key", 5.0)
    assert esl.map_event(by["member-queue-end", A, "1002"]) == []
    [bad] = esl.map_event({"CC-Action": "agent-offering", "CC-Agent": "1001", "Event-Date-Timestamp": "1"})
    assert (bad.type, bad.reason) == ("unknown", Reason.INVALID)  # no member session


@pytest.mark.rule("C5h")
def test_the_event_id_is_stable_and_unique():
    first, second = esl.map_events(events()), esl.map_events(events())
    assert [e.source_event_id for e in first] == [e.source_event_id for e in second]
    assert len({e.source_event_id for e in first}) == len(first)
    assert all(len(e.source_event_id) <= 120 for e in first)


@pytest.mark.rule("C1f")
@pytest.mark.rule("C5c")
@pytest.mark.rule("C5d")
@pytest.mark.rule("C5e")
def test_the_fixture_through_ingest_gives_the_calls_worked_out_by_hand(world, esl_source):
    result = ingest(esl_source, esl.map_events(events()))
    assert result.unplaced == 1
    check_day(esl_source, world)


@pytest.mark.rule("C5h")
def test_the_stream_shuffled_and_twice_gives_the_same_calls(world, esl_source):
    stream = esl.map_events(events())
    twice = stream + stream
    random.Random(11).shuffle(twice)
    result = ingest(esl_source, twice)
    assert result.duplicate == len(stream)
    check_day(esl_source, world)


# --- the runner against a real event socket ---------------------------------------------

class EslServer:
    """A local inbound event socket: auth/request, ``auth`` (refused the
    first ``refuse`` times, then the connection closed as FreeSWITCH does),
    ``event plain …`` subscribed, then the fixture as text/event-plain
    frames; after each of the first ``replays`` sessions it sends a
    disconnect notice and closes."""

    def __init__(self, *, replays: int = 1, refuse: int = 0, close_after: bool = False):
        self.replays, self.refuse, self.close_after = replays, refuse, close_after
        self.sessions = 0
        self.commands: list[str] = []
        self.server = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    @staticmethod
    def reply(writer, text: str) -> None:
        writer.write(f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode())

    async def handle(self, reader, writer):
        writer.write(b"Content-Type: auth/request\n\n")
        try:
            while True:
                command = await self.read_command(reader)
                if command is None:
                    break
                self.commands.append(command)
                if command.startswith("auth "):
                    if self.refuse > 0 or command != "auth ClueCon":
                        self.refuse -= 1
                        self.reply(writer, "-ERR invalid")
                        writer.write(b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
                        break
                    self.reply(writer, "+OK accepted")
                elif command == "event plain CUSTOM callcenter::info":
                    self.reply(writer, "+OK event listener enabled plain")
                    self.sessions += 1
                    if self.sessions <= self.replays:
                        for body in bodies():
                            data = body.encode()
                            writer.write(f"Content-Length: {len(data)}\nContent-Type: text/event-plain\n\n".encode()
                                         + data)
                    if self.close_after and self.sessions < self.replays:
                        writer.write(b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
                        await writer.drain()
                        break
                else:
                    self.reply(writer, "-ERR command not found")
                await writer.drain()
        finally:
            writer.close()

    @staticmethod
    async def read_command(reader) -> str | None:
        lines = []
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode().strip()
            if not text:
                if lines:
                    return " ".join(lines)
                continue
            lines.append(text)


async def run_against(server: EslServer, source, *, expect_events: int, timeout: float = 30.0) -> esl.EslRunner:
    port = await server.start()
    runner = esl.EslRunner(source, host="127.0.0.1", port=port, password="ClueCon", batch=5, flush_s=0.05,
                           backoff=Backoff(0.05, 0.2))
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
def esl_live_source(transactional_db):
    return esl.source_named("freeswitch-live")


@pytest.mark.rule("C1f")
@pytest.mark.django_db(transaction=True)
def test_the_runner_reads_a_real_event_socket_into_the_same_calls(world, esl_live_source):
    n = len(esl.map_events(events()))
    server = EslServer(replays=1, refuse=1)  # the first auth refused: connected again after the backoff
    runner = asyncio.run(run_against(server, esl_live_source, expect_events=n))
    assert server.commands == ["auth ClueCon", "auth ClueCon", "event plain CUSTOM callcenter::info"]
    assert runner.logins == 1
    assert runner.ingester.events == n and runner.ingester.total.accepted == n
    check_day(esl_live_source, world)


@pytest.mark.rule("C5h")
@pytest.mark.rule("C1h")
@pytest.mark.django_db(transaction=True)
def test_the_same_stream_delivered_twice_over_a_reconnect_gives_identical_calls(world, esl_live_source):
    n = len(esl.map_events(events()))
    server = EslServer(replays=2, close_after=True)
    runner = asyncio.run(run_against(server, esl_live_source, expect_events=2 * n))
    assert server.sessions >= 2 and runner.logins >= 2
    assert runner.ingester.total.accepted == n and runner.ingester.total.duplicate == n
    assert CallEvent.objects.filter(source=esl_live_source).count() == n
    check_day(esl_live_source, world)


def serve_in_thread(server) -> tuple[int, callable]:
    """The server on its own event loop in a thread (the command runs its
    loop in this one); returns its port and a stop function."""
    import threading

    ready = threading.Event()
    state = {}

    def run():
        loop = asyncio.new_event_loop()
        state["loop"] = loop
        state["port"] = loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()
        server.server.close()
        loop.run_until_complete(server.server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)

    def stop():
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(10)

    return state["port"], stop


def signal_when_stored(source_name: str, n: int, timeout: float = 30.0):
    """Send this process SIGTERM once the source has n events stored."""
    import os
    import signal
    import threading
    import time

    from django.db import connections

    def watch():
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if CallEvent.objects.filter(source__name=source_name).count() >= n:
                    break
                time.sleep(0.05)
        finally:
            connections.close_all()
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.rule("C1f")
@pytest.mark.django_db(transaction=True)
def test_the_calls_esl_command_reads_the_socket_until_stopped(world):
    import io

    from django.core.management import call_command

    n = len(esl.map_events(events()))
    port, stop = serve_in_thread(EslServer(replays=1))
    watcher = signal_when_stored("fs-cmd", n)
    out = io.StringIO()
    try:
        call_command("calls-esl", "--source", "fs-cmd", "--host", "127.0.0.1", "--port", str(port),
                     "--password", "ClueCon", "--flush", "0.05", stdout=out)
    finally:
        watcher.join(10)
        stop()
    assert out.getvalue().strip() == f"events {n} stored {n} duplicate 0 unplaced 1"
    source = EventSource.objects.get(name="fs-cmd")
    assert (source.kind, source.carries_hold, source.carries_wrapup) == ("freeswitch_esl", False, False)
    check_day(source, world)


@pytest.mark.rule("C3a")
@pytest.mark.rule("C3b")
@pytest.mark.rule("C3d")
@pytest.mark.rule("C3e")
@pytest.mark.rule("C3g")
@pytest.mark.rule("C5c")
@pytest.mark.rule("C5e")
def test_the_kpis_of_the_fixture(world, esl_source):
    from hotline.calls import kpis

    ingest(esl_source, esl.map_events(events()))
    period = kpis.Period(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=1))
    r = kpis.report(period, source=esl_source,
                    settings=kpis.Settings(T=20, S=5, R=9, N=3, ring_cycle=3, ring_pass_by="seconds_or_rings"))
    # A (wait 22) and F (4) answered; B (31, hung up), C (60, timeout), D (5, exit key) abandoned
    assert (r.offered, r.answered, r.abandoned, r.short_abandoned, r.in_progress) == (5, 2, 3, 1, 0)
    assert r.answered_within_T == 1
    assert r.answer_rate == pytest.approx(2 / 5)
    assert r.abandon_rate == pytest.approx(3 / 5)
    assert r.service_level == pytest.approx(1 / 5)
    assert r.service_level_excl_short == pytest.approx(1 / 4)
    assert r.service_level_of_answered == pytest.approx(1 / 2)
    assert r.asterisk_sl2 == pytest.approx((1 + 1) / (2 + 3))
    assert r.asa_s == pytest.approx((22 + 4) / 2)
    assert r.aht_s == pytest.approx((120 + 80) / 2)
    assert r.aht_basis == kpis.AHT_TALK_ONLY  # mod_callcenter reports neither hold nor wrap-up (C5e)
    assert r.ring_pass_rate == pytest.approx(1.0)  # rings 5 and 3 s
    assert r.avg_ring_s == pytest.approx((5 + 3) / 2)
    assert (r.ring_unknown, r.ring_no_answer) == (0, 1)
