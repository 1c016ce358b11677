"""The Asterisk queue_log adapter (C1e): every event of the format, a whole
day's fixture through the ingest path compared with the calls and KPIs
worked out by hand, and the tailer on a real file that grows, rotates
and is truncated."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import threading

import pytest
from django.core.management import call_command

from hotline.calls import kpis
from hotline.calls.adapters import asterisk_queue_log as ql
from hotline.calls.models import (
    AgentState,
    AgentStateEvent,
    Call,
    CallEvent,
    CallRing,
    EventType,
    LogCursor,
    Placement,
    Reason,
)
from hotline.calls.tests.conftest import FIXTURES, T0

DAY = FIXTURES / "queue_log_day.txt"
E = 1794877200  # T0 as the epoch queue_log writes


def line(offset: int, rest: str) -> str:
    return f"{E + offset}|{rest}"


# --- parsing: every event the issue names, with Asterisk's data fields -------------------

PARSED = [
    ("c|q|NONE|ENTERQUEUE||13800001111|3", EventType.CALL_OFFERED,
     {"caller_number": "13800001111", "position": 3}),
    ("c|q|NONE|ENTERQUEUE|http://x|13800001111|1|张三", EventType.CALL_OFFERED,
     {"url": "http://x", "caller_name": "张三"}),
    ("c|q|SIP/1001|RINGNOANSWER|15000", EventType.CALL_RING_NO_ANSWER, {"ring_s": 15.0}),  # milliseconds
    ("c|q|SIP/1001|RINGCANCELED|2500", EventType.CALL_RING_CANCELED, {"ring_s": 2.5}),
    ("c|q|SIP/1001|RINGCANCELED", EventType.CALL_RING_CANCELED, {}),
    ("c|q|SIP/1001|CONNECT|12|1794877199.7|4", EventType.CALL_ANSWERED,
     {"wait_s": 12.0, "bridged_uniqueid": "1794877199.7", "ring_s": 4.0}),  # hold time is the wait (C5d)
    ("c|q|SIP/1001|COMPLETECALLER|12|95|1", EventType.CALL_ENDED,
     {"hung_up_by": "customer", "wait_s": 12.0, "talk_s": 95.0, "position": 1}),
    ("c|q|SIP/1001|COMPLETEAGENT|12|95|1", EventType.CALL_ENDED, {"hung_up_by": "agent", "talk_s": 95.0}),
    ("c|q|NONE|ABANDON|2|3|41", EventType.CALL_ABANDONED,
     {"reason": "hangup", "position": 2, "original_position": 3, "wait_s": 41.0}),
    ("c|q|NONE|EXITWITHTIMEOUT|1|4|300", EventType.CALL_ABANDONED, {"reason": "timeout", "wait_s": 300.0}),
    ("c|q|NONE|EXITEMPTY|1|1|0", EventType.CALL_ABANDONED, {"reason": "empty", "wait_s": 0.0}),
    ("c|q|NONE|EXITWITHKEY|9|1|2|17", EventType.CALL_ABANDONED,
     {"reason": "key", "key": "9", "position": 1, "original_position": 2, "wait_s": 17.0}),
    ("c|q|SIP/1001|BLINDTRANSFER|8001|experts|12|60|1", EventType.CALL_TRANSFERRED,
     {"target": "8001@experts", "wait_s": 12.0, "talk_s": 60.0, "ends_call": True, "method": "blind"}),
    ("c|q|SIP/1001|ATTENDEDTRANSFER|BRIDGE|b-1|12|60|1", EventType.CALL_TRANSFERRED,
     {"method": "BRIDGE", "target": "b-1", "talk_s": 60.0}),
    ("c|q|SIP/1001|ATTENDEDTRANSFER|LINK|Local/1@a-1;1|Local/1@a-1;2|12|61|1", EventType.CALL_TRANSFERRED,
     {"method": "LINK", "target": "Local/1@a-1;1|Local/1@a-1;2", "talk_s": 61.0}),
    ("c|q|SIP/1001|TRANSFER|8002|experts|12|70|1", EventType.CALL_TRANSFERRED,
     {"target": "8002@experts", "talk_s": 70.0}),
    ("NONE|q|SIP/1001|PAUSE|午休", EventType.AGENT_NOT_READY, {"reason": "午休"}),
    ("NONE|NONE|SIP/1001|PAUSEALL|培训", EventType.AGENT_NOT_READY, {"reason": "培训", "all_queues": True}),
    ("NONE|q|SIP/1001|UNPAUSE|", EventType.AGENT_READY, {}),
    ("NONE|NONE|SIP/1001|UNPAUSEALL|", EventType.AGENT_READY, {"all_queues": True}),
    ("NONE|q|SIP/1001|ADDMEMBER|", EventType.AGENT_LOGIN, {}),
    ("NONE|q|SIP/1001|REMOVEMEMBER|", EventType.AGENT_LOGOUT, {}),
    ("NONE|NONE|Agent/1001|AGENTLOGIN|SIP/1001", EventType.AGENT_LOGIN, {"channel": "SIP/1001"}),
    ("NONE|NONE|Agent/1001|AGENTLOGOFF|SIP/1001|3600", EventType.AGENT_LOGOUT,
     {"channel": "SIP/1001", "login_s": 3600.0}),
    ("c|q|SIP/1001|AGENTCALLED|", EventType.CALL_RINGING, {}),
    ("c|q|SIP/1001|AGENTDUMP", EventType.CALL_ENDED, {"hung_up_by": "agent"}),
]


@pytest.mark.rule("C1e", "C1c")
@pytest.mark.parametrize("text,kind,payload", PARSED, ids=[f"{p[0].split('|')[3]}-{n}"
                                                           for n, p in enumerate(PARSED)])
def test_each_event_is_read_with_its_data_fields(text, kind, payload):
    event = ql.parse_line(line(5, text))
    assert event.type == kind
    assert event.occurred_at == T0 + dt.timedelta(seconds=5)
    assert event.reason == ""
    for key, value in payload.items():
        assert event.payload[key] == value, key
    fields = text.split("|")
    assert event.call_id == ("" if fields[0] == "NONE" else fields[0])
    assert event.agent == ("" if fields[2] == "NONE" else fields[2])


@pytest.mark.rule("C1e")
def test_every_event_the_issue_names_is_known():
    named = ("ENTERQUEUE RINGNOANSWER RINGCANCELED CONNECT COMPLETECALLER COMPLETEAGENT ABANDON EXITWITHTIMEOUT "
             "EXITEMPTY EXITWITHKEY BLINDTRANSFER ATTENDEDTRANSFER TRANSFER PAUSE UNPAUSE PAUSEALL UNPAUSEALL "
             "ADDMEMBER REMOVEMEMBER AGENTLOGIN AGENTLOGOFF").split()
    covered = {p[0].split("|")[3] for p in PARSED}
    assert set(named) <= covered
    text = DAY.read_text()
    assert all(f"|{name}|" in text or text.count(f"|{name}\n") for name in named), "the day fixture has them all"


@pytest.mark.rule("C5g", "C1i")
@pytest.mark.parametrize("text,reason", [
    (line(0, "c|q|SIP/1|MYEVENT|x"), Reason.UNKNOWN_EVENT),
    (line(0, "NONE|NONE|NONE|QUEUESTART|"), Reason.SYSTEM),
    (line(0, "NONE|q|NONE|CONNECT|1|2|3"), Reason.INVALID),  # a call event without its call
    (line(0, "NONE|q|NONE|PAUSE|"), Reason.INVALID),  # an agent event without its agent
    ("garbage", Reason.INVALID),
    ("notanumber|c|q|NONE|ENTERQUEUE||1|1", Reason.INVALID),
    (line(0, "c|q|SIP/1|BLINDTRANSFER|1"), Reason.INVALID),
])
def test_lines_it_cannot_use_are_kept_as_unknown(text, reason):
    event = ql.parse_line(text)
    assert event.type == EventType.UNKNOWN
    assert event.reason == reason
    assert event.payload["line"] == text


@pytest.mark.rule("C5h")
def test_an_event_id_is_the_line_itself():
    a = ql.parse_line(line(0, "c|q|NONE|ENTERQUEUE||1|1") + "\n")
    b = ql.parse_line(line(0, "c|q|NONE|ENTERQUEUE||1|1") + "\r\n")
    c = ql.parse_line(line(1, "c|q|NONE|ENTERQUEUE||1|1"))
    assert a.source_event_id == b.source_event_id != c.source_event_id
    assert ql.parse_line("   \n") is None


# --- a day of queue_log through the ingest path ------------------------------------------

# What the fixture's lines give, worked out by hand: call id, entry → queue,
# status, wait, answering agent (world attribute or None), ring, talk,
# who hung up, transfers, rings not answered, abandon reason.
EXPECTED_CALLS = {
    ("c1", 1): ("95598", "ended", 4, "agent", 2, 120, "customer", 0, 0, ""),
    ("c2", 1): ("95598", "ended", 25, "agent", 10, 300, "agent", 0, 1, ""),
    ("c3", 1): ("95598", "abandoned", 3, None, None, None, "", 0, 0, "hangup"),
    ("c4", 1): ("95598", "abandoned", 30, None, None, None, "", 0, 0, "timeout"),
    ("c5", 1): ("95598", "abandoned", 12, None, None, None, "", 0, 0, "key"),
    ("c6", 1): ("repair", "abandoned", 0, None, None, None, "", 0, 0, "empty"),
    ("c7", 1): ("repair", "ended", 8, "agent2", 8, 60, "", 1, 0, ""),
    ("c8", 1): ("95598", "abandoned", 6, None, None, None, "", 0, 0, "key"),
    ("c8", 2): ("repair", "ended", 5, "agent", 3, 60, "", 1, 0, ""),
    ("c9", 1): ("95598", "abandoned", 4, None, None, None, "", 0, 0, "hangup"),
    ("c10", 1): ("95598", "ended", 20, "agent2", None, 100, "", 1, 0, ""),
    ("c11", 1): ("95598", "waiting", None, None, None, None, "", 0, 0, ""),
    ("c12", 1): ("95598", "talking", 5, "agent", 5, None, "", 0, 0, ""),
    ("c13", 1): ("95598", "ended", 2, None, 1, 3, "agent", 0, 0, ""),  # SIP/1009: nobody has agent number 1009
}


@pytest.fixture
def day(world, queue_log_source):
    lines, result = ql.import_file(queue_log_source, str(DAY))
    return lines, result


@pytest.mark.rule("C1e", "C5b", "C5c", "C5d")
def test_the_day_gives_the_calls_worked_out_by_hand(world, day):
    calls = {(c.call_id, c.entry): c for c in Call.objects.all()}
    assert set(calls) == set(EXPECTED_CALLS)
    for key, (queue, status, wait, agent, ring, talk, hung_up, transfers, rna, abandon) in EXPECTED_CALLS.items():
        c = calls[key]
        got = (c.queue, c.status, c.wait_s, c.agent, c.ring_s, c.talk_s, c.hung_up_by, c.transfers,
               c.ring_no_answer, c.abandon_reason)
        want = (queue, status, wait, getattr(world, agent) if agent else None, ring, talk, hung_up, transfers, rna,
                abandon)
        assert got == want, key
        # queue_log carries neither hold nor after-call work (C5e)
        assert c.hold_s is None and c.wrapup_s is None
    assert calls[("c1", 1)].caller_number == "13800001111"
    assert calls[("c1", 1)].offered_at == T0 + dt.timedelta(seconds=10)
    assert calls[("c1", 1)].answered_at == T0 + dt.timedelta(seconds=14)
    assert calls[("c1", 1)].ended_at == T0 + dt.timedelta(seconds=134)
    assert calls[("c13", 1)].agent_ref == "SIP/1009"
    assert calls[("c2", 1)].ring_count(3.0) == 4  # ⌈10 ÷ 3⌉
    # the rings of each call, answered or not (C5i)
    assert list(CallRing.objects.filter(call=calls[("c2", 1)]).values_list("agent_ref", "outcome", "ring_s")) == [
        ("SIP/1002", "no_answer", 15.0), ("Agent/1001", "answered", 10.0)]
    assert list(CallRing.objects.filter(call=calls[("c9", 1)]).values_list("agent_ref", "outcome", "ring_s")) == [
        ("SIP/1002", "canceled", 4.0)]


@pytest.mark.rule("C5b")
def test_one_contact_per_call_across_its_queues(world, day):
    first, second = Call.objects.filter(call_id="c8").order_by("entry")
    assert first.queue == "95598" and second.queue == "repair"
    assert first.contact_id == second.contact_id is not None
    contact = first.contact
    assert (contact.source, contact.source_id, contact.caller_number) == ("asterisk-1", "c8", "13200008888")
    assert contact.agent == world.agent
    assert contact.started_at == T0 + dt.timedelta(seconds=200)
    assert contact.ended_at == T0 + dt.timedelta(seconds=272)
    waiting = Call.objects.get(call_id="c11")
    assert waiting.contact.ended_at is None  # still in the queue


@pytest.mark.rule("C5g", "C5h", "C1i")
def test_the_day_counts_and_keeps_what_it_cannot_place(day):
    lines, result = day
    assert lines == 51
    assert (result.accepted, result.duplicate, result.unplaced) == (50, 1, 4)
    unplaced = dict(CallEvent.objects.filter(state=Placement.UNPLACED).values_list("reason", "type"))
    assert unplaced == {"system": "unknown", "no_call": "call.ended", "unknown_event": "unknown",
                        "invalid": "unknown"}
    # an agent nobody has: counted in its call, waiting for its agent
    assert set(CallEvent.objects.filter(reason=Reason.UNKNOWN_AGENT).values_list("state", "call_id")) == {
        ("placed", "c13")}
    assert CallEvent.objects.filter(reason=Reason.NO_CALL, retry_at__isnull=False).count() == 1
    assert CallEvent.objects.filter(reason__in=[Reason.SYSTEM, Reason.INVALID, Reason.UNKNOWN_EVENT],
                                    retry_at__isnull=True).count() == 3


@pytest.mark.rule("C5h")
def test_reading_the_file_again_adds_nothing(world, day):
    before = _calls_snapshot()
    _lines, again = ql.import_file(Call.objects.first().source, str(DAY))
    assert (again.accepted, again.duplicate, again.unplaced) == (0, 51, 0)
    assert _calls_snapshot() == before


def _calls_snapshot():
    return sorted(Call.objects.values_list("call_id", "entry", "status", "wait_s", "ring_s", "talk_s", "agent_id",
                                           "contact_id", "updated_at"))


@pytest.mark.rule("C3a", "C3b", "C3c", "C3d", "C3e", "C3g", "C5e", "C5f", "C5k", "C5j")
def test_the_day_kpis_worked_out_by_hand(world, day):
    period = kpis.Period(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=1))
    s = kpis.Settings(T=20, S=5, R=9, N=3, ring_cycle=3, ring_pass_by="seconds_or_rings")
    r = kpis.report(period, settings=s)
    # 14 queue entries; c11 waiting and c12 talking are not counted yet
    assert (r.offered, r.answered, r.abandoned, r.in_progress) == (12, 6, 6, 2)
    assert r.short_abandoned == 3  # c3 3 s, c6 0 s, c9 4 s
    assert r.answered_within_T == 5  # c1 4, c7 8, c8 5, c10 20, c13 2 (c2: 25)
    assert r.answer_rate == pytest.approx(6 / 12)
    assert r.abandon_rate == pytest.approx(6 / 12)
    assert r.service_level == pytest.approx(5 / 12)
    assert r.service_level_excl_short == pytest.approx(5 / 9)
    assert r.service_level_of_answered == pytest.approx(5 / 6)
    assert r.asterisk_sl == pytest.approx(5 / 6)
    # abandoned within 20 s: c3, c5, c6, c8, c9 (c4 waited 30)
    assert r.asterisk_sl2 == pytest.approx((5 + 5) / (6 + 6))
    assert r.asa_s == pytest.approx((4 + 25 + 8 + 5 + 20 + 2) / 6)
    assert r.aht_s == pytest.approx((120 + 300 + 60 + 60 + 100 + 3) / 6)
    assert r.aht_basis == kpis.AHT_TALK_ONLY
    # ring known for c1 2, c2 10, c7 8, c8 3, c13 1; c10's CONNECT has no ring time
    assert r.ring_unknown == 1
    assert r.ring_pass_rate == pytest.approx(4 / 5)
    assert r.avg_ring_s == pytest.approx(24 / 5)
    assert r.ring_no_answer == 1
    assert r.satisfaction is None  # no survey answers: empty, not 0 (C5j)

    repair = kpis.report(period, queue="repair", settings=s)
    assert (repair.offered, repair.answered, repair.abandoned) == (3, 2, 1)
    q95598 = kpis.report(period, queue="95598", settings=s)
    assert (q95598.offered, q95598.answered, q95598.abandoned, q95598.in_progress) == (9, 4, 5, 2)


@pytest.mark.rule("C5i")
def test_the_day_per_agent(world, day):
    period = kpis.Period(T0, T0 + dt.timedelta(hours=1))
    s = kpis.Settings(T=20, S=5, R=9, N=3, ring_cycle=3)
    a1 = kpis.report(period, agent=world.agent, settings=s)
    assert (a1.answered, a1.ring_no_answer, a1.in_progress) == (3, 0, 1)  # c1, c2, c8; c12 still talking
    assert a1.asa_s == pytest.approx((4 + 25 + 5) / 3)
    a2 = kpis.report(period, agent=world.agent2, settings=s)
    # answered c7 and c10; c2 rang it unanswered (15 s) before agent 1001 took it
    assert (a2.offered, a2.answered, a2.ring_no_answer) == (3, 2, 1)
    assert a2.answer_rate == pytest.approx(2 / 3)
    assert a2.ring_unknown == 1 and a2.ring_pass_rate == pytest.approx(1.0)


@pytest.mark.rule("C5a")
def test_a_call_counts_in_the_period_of_its_queue_entry(world, day):
    # c1…c5 entered in [09:00:00, 09:01:40); c6 at 09:01:40 is the next period's
    first = kpis.Period.parse("2026-11-17T09:00:00", "2026-11-17T09:01:40")  # the center's time, no offset
    assert kpis.offered(first) == 5
    # c2 is answered at 09:00:45 and ends at 09:05:45, still in the first period
    assert kpis.answered(first) == 2
    later = kpis.Period.parse("2026-11-17T09:01:40+08:00", "2026-11-17T10:00:00+08:00")
    assert kpis.offered(later) == 7


def test_the_agents_states_after_the_day(world, day):
    one, two = AgentState.objects.get(user=world.agent), AgentState.objects.get(user=world.agent2)
    assert one.state == "logged_out"  # AGENTLOGOFF at +1000, though c12 never ended
    assert one.since == T0 + dt.timedelta(seconds=1000)
    assert (two.state, two.presence) == ("ready", "ready")  # still a member of 95598
    assert two.memberships["repair"][0] is False and two.memberships["95598"][0] is True
    history = list(AgentStateEvent.objects.filter(user=world.agent2).order_by("at", "id").values_list(
        "dimension", "state", "reason", "queue"))
    assert history == [
        ("presence", "ready", "", "95598"), ("presence", "ready", "", "repair"),
        ("presence", "not_ready", "午休", "95598"),
        ("activity", "idle", "", "95598"),  # c2 rang 15 s unanswered
        ("presence", "ready", "", "95598"),
        ("activity", "talking", "", "repair"), ("activity", "idle", "", "repair"),  # c7, blind transfer
        ("activity", "idle", "", "95598"),  # c9's ring cancelled
        ("activity", "talking", "", "95598"), ("activity", "idle", "", "95598"),  # c10, transfer
        ("presence", "logged_out", "", "repair"),
    ]


# --- the command -------------------------------------------------------------------------

@pytest.mark.rule("C1e")
def test_the_import_command_prints_its_counts(world):
    out = io.StringIO()
    call_command("calls", "import", str(DAY), "--format", "queue_log", "--source", "pbx-a", stdout=out)
    assert out.getvalue().splitlines()[0] == "read 51  stored 50  duplicate 1  unplaced 4"
    again = io.StringIO()
    call_command("calls-import-queue-log", str(DAY), "--source", "pbx-a", stdout=again)
    assert again.getvalue().splitlines()[0] == "read 51  stored 0  duplicate 51  unplaced 0"


@pytest.mark.rule("C5j")
def test_the_kpi_command_prints_json(world, day):
    out = io.StringIO()
    call_command("calls", "kpi", "--from", "2026-11-17", "--to", "2026-11-18", "--json", "--T", "20", "--S", "5",
                 stdout=out)
    data = json.loads(out.getvalue())
    for key in ("offered", "answered", "abandoned", "short_abandoned", "answered_within_T", "answer_rate",
                "abandon_rate", "service_level", "service_level_of_answered", "service_level_excl_short",
                "asterisk_sl", "asterisk_sl2", "asa_s", "aht_s", "ring_pass_rate", "avg_ring_s"):
        assert key in data
    assert data["offered"] == 12 and data["answer_rate"] == 0.5
    empty = io.StringIO()
    call_command("calls", "kpi", "--from", "2026-11-18", "--to", "2026-11-19", "--json", stdout=empty)
    data = json.loads(empty.getvalue())
    assert data["offered"] == 0 and data["answer_rate"] is None and data["asa_s"] is None


# --- following a live file ------------------------------------------------------------------

DAY_LINES = DAY.read_text().splitlines(keepends=True)


def _offered():
    return Call.objects.count()


@pytest.mark.rule("C1e")
def test_the_tailer_reads_whole_lines_as_the_file_grows(world, queue_log_source, tmp_path):
    path = tmp_path / "queue_log"
    path.write_text("")
    tailer = ql.Tailer(queue_log_source, str(path))
    assert tailer.step() == 0
    with open(path, "a") as fh:
        fh.write(DAY_LINES[4])  # ENTERQUEUE c1
        fh.write(DAY_LINES[5][:12])  # half of the next line: not read yet
        fh.flush()
        assert tailer.step() == 1
        assert _offered() == 1 and not Call.objects.get().answered_at
        fh.write(DAY_LINES[5][12:])
        fh.flush()
        assert tailer.step() == 1
    assert Call.objects.get().answered_at is not None
    cursor = LogCursor.objects.get(source=queue_log_source)
    assert cursor.offset == len((DAY_LINES[4] + DAY_LINES[5]).encode())
    assert cursor.inode == os.stat(path).st_ino


@pytest.mark.rule("C1e", "C5h")
def test_the_tailer_survives_rotation_truncation_and_restart(world, queue_log_source, tmp_path):
    path = tmp_path / "queue_log"
    half = len(DAY_LINES) // 2
    path.write_text("".join(DAY_LINES[:10]))
    tailer = ql.Tailer(queue_log_source, str(path))
    tailer.step()
    # Asterisk writes more, then logrotate renames the file and a new one starts
    with open(path, "a") as fh:
        fh.write("".join(DAY_LINES[10:half]))
    os.rename(path, str(path) + ".1")
    path.write_text("".join(DAY_LINES[half:half + 5]))
    tailer.step()
    assert CallEvent.objects.count() == half + 5 - 1  # one line of the first ten is written twice
    # a restart (a new tailer) goes on from the saved position
    with open(path, "a") as fh:
        fh.write("".join(DAY_LINES[half + 5:half + 10]))
    tailer = ql.Tailer(queue_log_source, str(path))
    tailer.step()
    assert tailer.lines == 5
    # copytruncate: the file is emptied in place and written again from the start
    with open(path, "w") as fh:
        fh.write("".join(DAY_LINES[half + 10:]))
    tailer.step()
    _, whole = ql.import_file(queue_log_source, str(DAY))
    assert whole.accepted == 0, "the tailer read every line of the day once"


@pytest.mark.rule("C1e")
def test_a_rotation_while_stopped_is_finished_from_the_old_file(world, queue_log_source, tmp_path):
    path = tmp_path / "queue_log"
    path.write_text("".join(DAY_LINES[:20]))
    ql.Tailer(queue_log_source, str(path)).step()
    with open(path, "a") as fh:
        fh.write("".join(DAY_LINES[20:30]))
    os.rename(path, str(path) + ".1")  # rotated while no tailer ran
    path.write_text("".join(DAY_LINES[30:]))
    tailer = ql.Tailer(queue_log_source, str(path))
    tailer.step()
    _, whole = ql.import_file(queue_log_source, str(DAY))
    assert whole.accepted == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.rule("C1e", "C1h")
def test_the_tailer_follows_a_file_written_and_rotated_meanwhile(tmp_path):
    """A writer thread appends the day line by line and rotates the file
    twice while the tailer runs in its own thread, as ``--follow`` does."""
    from django.db import connection

    from hotline.calls import services
    from hotline.testing import build_world

    world = build_world()
    source = services.create_source(name="live", kind="asterisk_queue_log")
    path = tmp_path / "queue_log"
    path.write_text("")
    tailer = ql.Tailer(source, str(path), poll=0.05)
    stop = threading.Event()

    errors = []

    def follow():
        try:
            tailer.run(stop=stop)
        except Exception as exc:  # the test fails with it below
            errors.append(exc)
            raise
        finally:
            connection.close()

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        fh = open(path, "a")
        for n, text in enumerate(DAY_LINES):
            fh.write(text)
            fh.flush()
            if n in (15, 35):
                fh.close()
                shutil.move(str(path), f"{path}.{n}")
                fh = open(path, "a")
            if n % 7 == 0:
                stop.wait(0.02)
        fh.close()
        expected = len(DAY_LINES) - 1  # one line twice
        for _ in range(600):
            if CallEvent.objects.filter(source=source).count() >= expected:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        reader.join(30)
    assert not reader.is_alive()
    assert errors == []
    assert CallEvent.objects.filter(source=source).count() == len(DAY_LINES) - 1
    assert Call.objects.filter(source=source).count() == len(EXPECTED_CALLS)
    assert Call.objects.get(source=source, call_id="c2").agent == world.agent
