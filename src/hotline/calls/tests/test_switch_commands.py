"""Commands to the switch (C1a, C2d): what the desk sets goes out through the
outbox's ``switch`` channel to real local TCP servers speaking the Asterisk
manager interface (banner, Login, actions answered by ActionID) and the
FreeSWITCH event socket (auth/request, ``auth``, ``api …`` answered as
``api/response``). The servers keep the state the commands set (members
paused, channels moved), so a command applied twice would show; they
record every frame, compared exactly. One refuses (an error answer: the
failure is on the desk), one drops the connection after taking a command
and before answering (retried with the same ActionID, and a transfer not
made twice). Sources without a command path say so on the desk."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from hotline.calls import services as calls
from hotline.calls.adapters import asterisk_ami as ami
from hotline.calls.desk import selectors as desk_selectors
from hotline.calls.desk import services as desk
from hotline.calls.models import (
    AgentIdentity,
    Call,
    Escalation,
    NoCommand,
    SwitchCommand,
)
from hotline.calls.tests.test_esl import serve_in_thread
from hotline.core import clock, outbox
from hotline.core.models import OutboxMessage, OutboxState
from hotline.testing import PASSWORD, english_words

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


# --- a local Asterisk manager interface ------------------------------------------------

class AmiSwitch:
    """An Asterisk as its manager interface shows it: queue members with
    their pause, channels with their dialplan location. Answers Login,
    QueuePause, QueueAdd, QueueRemove, Redirect, Atxfer, Status and Logoff
    as Asterisk does (the same ActionID, Success / Error with a Message).
    ``drop``: action names after which (applied, not answered) the
    connection is closed, once each."""

    def __init__(self, *, members=None, channels=None, drop=(), secret="s3cret"):
        self.members: dict[str, dict] = {m: {"paused": False, "reason": "", "queues": {"95598"}}
                                         for m in (members or ())}
        self.channels: dict[str, list[str]] = {name: list(where) for name, where in (channels or {}).items()}
        self.drop = {d.lower() for d in drop}
        self.secret = secret
        self.frames: list[dict[str, str]] = []
        self.pauses = 0  # pause state changes applied
        self.redirects = 0
        self.open = 0  # connections being served
        self.server = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    @staticmethod
    def answer(writer, aid: str, response: str, message: str, **extra) -> None:
        lines = [f"Response: {response}", f"ActionID: {aid}", f"Message: {message}",
                 *(f"{k}: {v}" for k, v in extra.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def apply(self, action: dict[str, str], writer) -> None:
        name, aid = action.get("Action", "").lower(), action.get("ActionID", "")
        member = self.members.get(action.get("Interface", ""))
        if name == "queuepause":
            if member is None:
                return self.answer(writer, aid, "Error", "Interface not found")
            paused = action.get("Paused") == "true"
            if member["paused"] != paused:
                self.pauses += 1
            member["paused"], member["reason"] = paused, action.get("Reason", "")
            return self.answer(writer, aid, "Success", f"Interface {'paused' if paused else 'unpaused'} successfully")
        if name == "queueadd":
            member = self.members.setdefault(action["Interface"], {"paused": False, "reason": "", "queues": set()})
            if action["Queue"] in member["queues"]:
                return self.answer(writer, aid, "Error", "Unable to add interface: Already there")
            member["queues"].add(action["Queue"])
            return self.answer(writer, aid, "Success", "Added interface to queue")
        if name == "queueremove":
            if member is None or action["Queue"] not in member["queues"]:
                return self.answer(writer, aid, "Error", "Unable to remove interface: Not there")
            member["queues"].discard(action["Queue"])
            return self.answer(writer, aid, "Success", "Removed interface from queue")
        if name in ("redirect", "atxfer"):
            if action.get("Channel") not in self.channels:
                return self.answer(writer, aid, "Error", f"Channel does not exist: {action.get('Channel')}")
            if name == "redirect":
                self.channels[action["Channel"]] = [action["Context"], action["Exten"]]
                self.redirects += 1
                return self.answer(writer, aid, "Success", "Redirect successful")
            return self.answer(writer, aid, "Success", "Atxfer successfully queued")
        if name == "status":
            where = self.channels.get(action.get("Channel", ""))
            if where is None:
                return self.answer(writer, aid, "Error", "No such channel")
            self.answer(writer, aid, "Success", "Channel status will follow", EventList="start")
            writer.write((f"Event: Status\r\nActionID: {aid}\r\nChannel: {action['Channel']}\r\n"
                          f"Context: {where[0]}\r\nExten: {where[1]}\r\nPriority: 1\r\n\r\n"
                          f"Event: StatusComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                          "ListItems: 1\r\nItems: 1\r\n\r\n").encode())
            return None
        return self.answer(writer, aid, "Error", "Invalid/unknown command")

    async def handle(self, reader, writer):
        self.open += 1
        writer.write(b"Asterisk Call Manager/5.0.1\r\n")
        await writer.drain()
        try:
            while True:
                action = await self.read_action(reader)
                if action is None:
                    break
                self.frames.append(action)
                name, aid = action.get("Action", "").lower(), action.get("ActionID", "")
                if name == "login":
                    ok = action.get("Secret") == self.secret
                    self.answer(writer, aid, "Success" if ok else "Error",
                                "Authentication accepted" if ok else "Authentication failed")
                elif name == "logoff":
                    self.answer(writer, aid, "Goodbye", "Thanks for all the fish.")
                    await writer.drain()
                    break
                elif name in self.drop:
                    self.drop.discard(name)
                    self.apply(action, _Discard())  # done at the switch, the answer never sent
                    break
                else:
                    self.apply(action, writer)
                await writer.drain()
        finally:
            writer.close()
            self.open -= 1

    @staticmethod
    async def read_action(reader) -> dict | None:
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                if headers:
                    return headers
                continue
            name, _sep, value = text.partition(":")
            headers[name.strip()] = value.strip()

    def actions(self) -> list[dict[str, str]]:
        """The frames received, Login's without its generated ActionID."""
        return [{k: v for k, v in f.items() if not (f.get("Action") == "Login" and k == "ActionID")}
                for f in self.frames]


class _Discard:
    def write(self, data: bytes) -> None:
        pass


# --- a local FreeSWITCH event socket ----------------------------------------------------

class EslSwitch:
    """FreeSWITCH's event socket as mod_callcenter and mod_commands answer
    it: agents with their status, channels with their destination number."""

    def __init__(self, *, agents=(), channels=None, drop=(), password="ClueCon"):
        self.agents = {a: "Logged Out" for a in agents}
        self.channels = dict(channels or {})
        self.drop = set(drop)
        self.password = password
        self.commands: list[str] = []
        self.transfers = 0
        self.open = 0
        self.server = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    def run(self, command: str) -> str:
        words = command.split()
        if command.startswith("callcenter_config agent set status "):
            agent, status = words[4], command.split(" ", 5)[5].strip("'")
            if agent not in self.agents:
                return "-ERR Invalid Agent!\n"
            self.agents[agent] = status
            return "+OK\n"
        if words[0] == "uuid_transfer":
            if words[1] not in self.channels:
                return "-ERR No such channel!\n"
            self.channels[words[1]] = words[2]
            self.transfers += 1
            return "+OK\n"
        if words[0] == "uuid_getvar" and words[2:] == ["destination_number"]:
            return self.channels.get(words[1], "-ERR No such channel!") + "\n"
        return f"-ERR {words[0]} Command not found!\n"

    async def handle(self, reader, writer):
        self.open += 1
        writer.write(b"Content-Type: auth/request\n\n")
        try:
            while True:
                command = await self.read_command(reader)
                if command is None:
                    break
                self.commands.append(command)
                if command.startswith("auth "):
                    ok = command == f"auth {self.password}"
                    writer.write(f"Content-Type: command/reply\nReply-Text: {'+OK accepted' if ok else '-ERR invalid'}"
                                 "\n\n".encode())
                    if not ok:
                        writer.write(b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
                        break
                elif command.startswith("api "):
                    body = self.run(command[4:])
                    verb = command.split()[1]
                    if verb in self.drop:
                        self.drop.discard(verb)
                        break  # done, the answer never sent
                    data = body.encode()
                    writer.write(f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data)
                elif command == "exit":
                    writer.write(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n"
                                 b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
                    await writer.drain()
                    break
                await writer.drain()
        finally:
            writer.close()
            self.open -= 1

    @staticmethod
    async def read_command(reader) -> str | None:
        lines = []
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                if lines:
                    return "\n".join(lines)
                continue
            lines.append(text)


# --- fixtures -----------------------------------------------------------------------------

SERVERS: list = []


@pytest.fixture
def serve():
    stops = []

    def _serve(server) -> int:
        port, stop = serve_in_thread(server)
        stops.append(stop)
        SERVERS.append(server)
        return port
    yield _serve
    SERVERS.clear()
    for stop in stops:
        stop()


@pytest.fixture
def login(client):
    def _login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        return client
    return _login


def ami_source(port: int, **options):
    source = calls.create_source(name="asterisk-ami", kind="asterisk_ami")
    for name, value in {"command_host": "127.0.0.1", "command_port": port, "command_username": "hotline",
                        "command_secret": "s3cret", **options}.items():
        setattr(source, name, value)
    source.save()
    return source


def esl_source(port: int, **options):
    source = calls.create_source(name="freeswitch", kind="freeswitch_esl")
    for name, value in {"command_host": "127.0.0.1", "command_port": port, "command_secret": "ClueCon",
                        **options}.items():
        setattr(source, name, value)
    source.save()
    return source


def deliver() -> None:
    """One delivery round of the outbox, then the servers done with its
    connections (their last frames read)."""
    import time

    outbox.deliver(threads=1)
    deadline = time.monotonic() + 5
    while any(s.open for s in SERVERS) and time.monotonic() < deadline:
        time.sleep(0.01)


def latest() -> SwitchCommand:
    return SwitchCommand.objects.select_related("message").order_by("-id").first()


def live(client, version: str = "") -> str:
    answer = client.get(f"/calls/desk/live/?v={version}")
    assert answer.status_code == 200
    return answer.content.decode()


def version_in(html: str) -> str:
    return re.search(r'data-desk-version="([^"]+)"', html).group(1)


def ami_call(source, *, uid="1794877200.1", channel="SIP/trunk-00000001", agent="SIP/1001",
             agent_channel="SIP/1001-00000002"):
    """A queue call answered by the agent, as the AMI adapter reads it."""
    frames = [
        {"Event": "QueueCallerJoin", "Timestamp": "1794877200.0", "Channel": channel, "Uniqueid": uid,
         "Linkedid": uid, "CallerIDNum": "13800001111", "Exten": "95598", "Queue": "95598", "Position": "1"},
        {"Event": "AgentCalled", "Timestamp": "1794877202.0", "Channel": channel, "Uniqueid": uid, "Linkedid": uid,
         "Queue": "95598", "Interface": agent, "DestChannel": agent_channel},
        {"Event": "AgentConnect", "Timestamp": "1794877205.0", "Channel": channel, "Uniqueid": uid, "Linkedid": uid,
         "Queue": "95598", "Interface": agent, "DestChannel": agent_channel, "HoldTime": "5", "RingTime": "3"},
    ]
    calls.ingest(source, ami.map_events(frames))
    return Call.objects.get(source=source, call_id=uid)


# --- Asterisk AMI: the agent's state -------------------------------------------------------

@pytest.mark.rule("C1a")
def test_not_ready_and_ready_on_the_desk_reach_the_ami_server_as_queue_pause(world, frozen, serve, login):
    switch = AmiSwitch(members=["SIP/1001"])
    source = ami_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    client = login(world.agent)
    desk.set_state(user=world.agent, action="ready")
    deliver()
    before = version_in(live(client))

    html = client.post("/calls/desk/state/", {"reason": "break"}, headers=HTMX).content.decode()
    # Recorded in hotline at once; the command is on its way.
    assert 'data-desk-state="not_ready"' in html and 'data-switch="sent"' in html and "已发送至交换机" in html
    command = latest()
    message = command.message
    assert (command.action, command.source, command.user, message.channel, message.state) == (
        "pause", source, world.agent, "switch", OutboxState.PENDING)
    assert message.dedup_key.startswith(f"switch:{source.pk}:{world.agent.pk}:")
    switch.frames.clear()
    deliver()
    assert switch.actions() == [
        {"Action": "Login", "Username": "hotline", "Secret": "s3cret", "Events": "off"},
        {"Action": "QueuePause", "ActionID": message.dedup_key, "Interface": "SIP/1001", "Paused": "true",
         "Reason": "break"},
        {"Action": "Logoff", "ActionID": switch.frames[-1]["ActionID"]},
    ]
    assert switch.members["SIP/1001"] == {"paused": True, "reason": "break", "queues": {"95598"}}
    message.refresh_from_db()
    assert message.state == OutboxState.ACKNOWLEDGED
    assert message.ack == f"{message.dedup_key} Interface paused successfully"
    # The desk's poll sees the confirmation without a reload: the version moved.
    html = live(client, before)
    assert 'data-switch="confirmed"' in html and "交换机已确认" in html
    assert client.get(f"/calls/desk/live/?v={version_in(html)}").status_code == 204

    client.post("/calls/desk/state/", {"action": "ready"}, headers=HTMX)
    switch.frames.clear()
    deliver()
    assert switch.actions()[1] == {"Action": "QueuePause", "ActionID": latest().message.dedup_key,
                                   "Interface": "SIP/1001", "Paused": "false"}
    assert switch.members["SIP/1001"]["paused"] is False and switch.pauses == 2


@pytest.mark.rule("C1a")
def test_sign_in_and_out_are_queue_add_and_remove_for_each_configured_queue(world, frozen, serve):
    switch = AmiSwitch(members=["PJSIP/1001"])  # already in 95598
    # Never seen by this source yet: its interface comes from the template.
    source = ami_source(serve(switch), agent_interface="PJSIP/{agent_number}", login_queues="95598, 95598-vip")
    desk.set_state(user=world.agent, action="sign_in")
    deliver()
    key = latest().message.dedup_key
    assert switch.actions()[1:3] == [
        {"Action": "QueueAdd", "ActionID": f"{key}:1", "Queue": "95598", "Interface": "PJSIP/1001", "Paused": "false"},
        {"Action": "QueueAdd", "ActionID": f"{key}:2", "Queue": "95598-vip", "Interface": "PJSIP/1001",
         "Paused": "false"},
    ]
    # "Already there" in 95598 is the state asked for: confirmed.
    assert latest().message.state == OutboxState.ACKNOWLEDGED
    assert switch.members["PJSIP/1001"]["queues"] == {"95598", "95598-vip"}
    switch.frames.clear()
    desk.set_state(user=world.agent, action="sign_out")
    deliver()
    key = latest().message.dedup_key
    assert [f["Action"] for f in switch.actions()] == ["Login", "QueueRemove", "QueueRemove", "Logoff"]
    assert [(f["ActionID"], f["Queue"]) for f in switch.actions()[1:3]] == [(f"{key}:1", "95598"),
                                                                           (f"{key}:2", "95598-vip")]
    assert switch.members["PJSIP/1001"]["queues"] == set() and latest().message.state == OutboxState.ACKNOWLEDGED
    assert source.takes_commands


@pytest.mark.rule("C1a")
def test_an_error_answer_is_a_failure_the_agent_sees_with_the_switchs_words(world, frozen, serve, login):
    switch = AmiSwitch(members=[])  # the switch does not know SIP/1001 as a member
    source = ami_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    client = login(world.agent)
    client.post("/calls/desk/state/", {"action": "sign_in"}, headers=HTMX)  # no queues: not sent, said so
    assert latest().unsent == NoCommand.NO_QUEUES
    html = client.post("/calls/desk/state/", {"reason": "meeting"}, headers=HTMX).content.decode()
    deliver()
    message = latest().message
    message.refresh_from_db()
    assert (message.state, message.last_error, message.attempts) == (
        OutboxState.FAILED, "QueuePause: Interface not found", 1)  # refused: not tried again
    html = live(client, version_in(html))
    assert 'data-switch="refused"' in html and "交换机拒绝：QueuePause: Interface not found" in html
    # hotline keeps the state the agent set.
    assert 'data-desk-state="not_ready"' in html


@pytest.mark.rule("C1a")
def test_a_refused_log_in_and_an_unreachable_switch(world, frozen, serve):
    switch = AmiSwitch(members=["SIP/1001"], secret="other")
    source = ami_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    desk.set_state(user=world.agent, action="not_ready", reason="break")
    deliver()
    message = latest().message
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED and "hotline" in message.last_error
    assert "Authentication failed" in message.last_error and switch.members["SIP/1001"]["paused"] is False
    assert [f["Action"] for f in switch.frames] == ["Login"]  # nothing after a refused log-in

    source.command_port = _closed_port()
    source.save()
    desk.set_state(user=world.agent, action="ready")
    deliver()
    message = latest().message
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and message.attempts == 1  # tried again later
    assert message.last_error.startswith(f"无法连接交换机 127.0.0.1:{source.command_port}")
    status = desk_selectors.latest_command(world.agent)
    assert status.status == "retrying" and status.text.startswith("已发送至交换机，正在重试：")


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.rule("C1a")
def test_a_connection_dropped_before_the_answer_is_retried_with_the_same_action_id(world, frozen, serve):
    switch = AmiSwitch(members=["SIP/1001"], drop=["QueuePause"])
    source = ami_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    desk.set_state(user=world.agent, action="not_ready", reason="break")
    deliver()
    message = latest().message
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and message.attempts == 1
    assert "交换机 127.0.0.1" in message.last_error and "断开" in message.last_error
    assert switch.members["SIP/1001"]["paused"] is True  # it was done; the answer was lost
    frozen.advance(seconds=35)  # past the first backoff (15–30 s)
    deliver()
    message.refresh_from_db()
    assert message.state == OutboxState.ACKNOWLEDGED and message.attempts == 2
    pauses = [f for f in switch.frames if f["Action"] == "QueuePause"]
    # The same command twice, recognisable by its ActionID; the member paused once.
    assert [f["ActionID"] for f in pauses] == [message.dedup_key, message.dedup_key]
    assert pauses[0] == pauses[1] and switch.pauses == 1


@pytest.mark.rule("C1a")
def test_a_later_state_overtakes_a_command_waiting_for_a_retry_and_a_late_one_is_not_sent(world, frozen, serve):
    switch = AmiSwitch(members=["SIP/1001"])
    source = ami_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    port = source.command_port
    source.command_port = _closed_port()
    source.save()
    desk.set_state(user=world.agent, action="not_ready", reason="break")
    deliver()
    pause = latest().message
    pause.refresh_from_db()
    assert pause.state == OutboxState.PENDING  # waiting for its retry
    # The agent is back before the pause got through; the switch is reachable again.
    source.command_port = port
    source.save()
    desk.set_state(user=world.agent, action="ready")
    deliver()
    ready = latest().message
    ready.refresh_from_db()
    assert ready.state == OutboxState.ACKNOWLEDGED
    frozen.advance(seconds=35)
    deliver()  # the pause's retry: it would undo the ready
    pause.refresh_from_db()
    assert pause.state == OutboxState.FAILED and "取代" in pause.last_error
    assert [f["Paused"] for f in switch.frames if f["Action"] == "QueuePause"] == ["false"]
    assert switch.members["SIP/1001"]["paused"] is False and switch.pauses == 0

    desk.set_state(user=world.agent, action="not_ready", reason="meal")
    frozen.advance(seconds=121)  # not delivered in time: the agent may have moved on since
    switch.frames.clear()
    deliver()
    late = latest().message
    late.refresh_from_db()
    assert late.state == OutboxState.FAILED and "120" in late.last_error
    assert switch.frames == [] and switch.members["SIP/1001"]["paused"] is False


# --- Asterisk AMI: the transfer button (C2d) ---------------------------------------------

@pytest.mark.rule("C1a")
@pytest.mark.rule("C2d")
def test_the_transfer_button_records_the_escalation_and_redirects_the_callers_channel(world, frozen, serve, login):
    switch = AmiSwitch(channels={"SIP/trunk-00000001": ["from-queue", "95598"]})
    source = ami_source(serve(switch), transfer_expert="9001@experts", transfer_shift_leader="9000@leaders")
    call = ami_call(source)  # the ingest knows SIP/1001 as world.agent by the agent number
    client = login(world.agent)
    html = client.post("/calls/desk/transfer/", {"call": call.pk, "target": "expert"}, headers=HTMX).content.decode()
    escalation = Escalation.objects.get()
    assert (escalation.call, escalation.target, escalation.command) == (call, "expert", "switch")
    assert "已发送至交换机" in html and 'data-escalation-switch="sent"' in html
    deliver()
    key = f"switch:{source.pk}:escalation:{escalation.pk}"
    assert switch.actions()[1] == {"Action": "Redirect", "ActionID": key, "Channel": "SIP/trunk-00000001",
                                   "Exten": "9001", "Context": "experts", "Priority": "1"}
    assert switch.channels["SIP/trunk-00000001"] == ["experts", "9001"]
    html = live(client, version_in(html))
    assert 'data-escalation-switch="confirmed"' in html and "交换机已确认" in html


@pytest.mark.rule("C1a")
@pytest.mark.rule("C2d")
def test_a_redirect_whose_answer_was_lost_is_checked_and_not_made_twice(world, frozen, serve):
    switch = AmiSwitch(channels={"SIP/trunk-00000001": ["from-queue", "95598"]}, drop=["Redirect"])
    source = ami_source(serve(switch), transfer_shift_leader="9000@leaders")
    call = ami_call(source)
    escalation = desk.escalate(user=world.agent, call=call, target="shift_leader")
    deliver()
    message = latest().message
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and switch.redirects == 1
    frozen.advance(seconds=35)
    deliver()
    message.refresh_from_db()
    key = f"switch:{source.pk}:escalation:{escalation.pk}"
    # The retry asks where the caller is first: already with the shift leader, nothing more is sent.
    assert [(f["Action"], f.get("ActionID")) for f in switch.actions() if f["Action"] != "Login"] == [
        ("Redirect", key), ("Status", f"{key}:check"), ("Logoff", switch.frames[-1]["ActionID"])]
    assert switch.redirects == 1 and message.state == OutboxState.ACKNOWLEDGED
    assert "already transferred" in message.ack


@pytest.mark.rule("C2d")
def test_an_attended_transfer_is_an_atxfer_from_the_agents_channel_and_is_never_sent_blind_twice(world, frozen,
                                                                                               serve):
    switch = AmiSwitch(channels={"SIP/1001-00000002": ["from-queue", "95598"]}, drop=["Atxfer"])
    source = ami_source(serve(switch), transfer_expert="9001@experts", transfer_attended=True)
    call = ami_call(source)
    desk.escalate(user=world.agent, call=call, target="expert")
    deliver()
    message = latest().message
    message.refresh_from_db()
    atxfer = [f for f in switch.frames if f["Action"] == "Atxfer"]
    assert atxfer == [{"Action": "Atxfer", "ActionID": message.dedup_key, "Channel": "SIP/1001-00000002",
                       "Exten": "9001", "Context": "experts"}]
    # Its answer lost, whether it was done cannot be checked: not sent again, the agent looks at the phone.
    assert message.state == OutboxState.FAILED and "话机" in message.last_error


# --- FreeSWITCH ESL ----------------------------------------------------------------------

@pytest.mark.rule("C1a")
def test_the_desk_states_are_callcenter_config_commands_on_the_event_socket(world, frozen, serve, login):
    switch = EslSwitch(agents=["1001@default"])
    source = esl_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="1001@default", user=world.agent)
    client = login(world.agent)
    for action, reason, status in [("sign_in", "", "Available"), ("not_ready", "break", "On Break"),
                                   ("ready", "", "Available"), ("sign_out", "", "Logged Out")]:
        switch.commands.clear()
        html = client.post("/calls/desk/state/", {"action": action, "reason": reason}, headers=HTMX).content.decode()
        deliver()
        assert switch.commands == ["auth ClueCon",
                                   f"api callcenter_config agent set status 1001@default '{status}'", "exit"]
        assert switch.agents["1001@default"] == status
        message = latest().message
        message.refresh_from_db()
        assert message.state == OutboxState.ACKNOWLEDGED and message.ack == f"{message.dedup_key} +OK"
        assert "交换机已确认" in live(client, version_in(html))


@pytest.mark.rule("C1a")
def test_an_err_reply_of_the_event_socket_is_the_failure_on_the_desk(world, frozen, serve, login):
    switch = EslSwitch(agents=[])
    source = esl_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="1001@default", user=world.agent)
    client = login(world.agent)
    html = client.post("/calls/desk/state/", {"reason": "meal"}, headers=HTMX).content.decode()
    deliver()
    html = live(client, version_in(html))
    assert "交换机拒绝：callcenter_config: -ERR Invalid Agent!" in html
    # A wrong password is refused too, and nothing is sent after it.
    source.command_secret = "wrong"
    source.save()
    switch.commands.clear()
    desk.set_state(user=world.agent, action="ready")
    deliver()
    assert switch.commands == ["auth wrong"] and latest().message.state == OutboxState.FAILED


@pytest.mark.rule("C1a")
@pytest.mark.rule("C2d")
def test_the_transfer_is_uuid_transfer_and_a_lost_answer_is_checked_not_repeated(world, frozen, serve,
                                                                                 monkeypatch):
    uuid = "a1a1a1a1-0000-4000-8000-000000000001"
    switch = EslSwitch(channels={uuid: "95598"}, drop=["uuid_transfer"])
    monkeypatch.setenv("HOTLINE_TEST_ESL_PASSWORD", "ClueCon")
    source = esl_source(serve(switch), command_secret="env:HOTLINE_TEST_ESL_PASSWORD",
                        transfer_expert="9001 XML default")
    calls.ingest(source, [calls.EventIn(source_event_id="o1", type="call.offered", occurred_at=clock.now(),
                                        call_id=uuid, queue="95598@default",
                                        payload={"caller_number": "13800001111"}),
                          calls.EventIn(source_event_id="a1", type="call.answered", occurred_at=clock.now(),
                                        call_id=uuid, queue="95598@default", agent="1001@default")])
    call = Call.objects.get(call_id=uuid)
    desk.escalate(user=world.agent, call=call, target="expert")
    deliver()
    message = latest().message
    message.refresh_from_db()
    assert switch.commands == ["auth ClueCon", f"api uuid_transfer {uuid} 9001 XML default"]
    assert message.state == OutboxState.PENDING and switch.transfers == 1
    frozen.advance(seconds=35)
    deliver()
    message.refresh_from_db()
    assert switch.commands[2:] == ["auth ClueCon", f"api uuid_getvar {uuid} destination_number", "exit"]
    assert switch.transfers == 1 and message.state == OutboxState.ACKNOWLEDGED


# --- no command path: said, never silent ---------------------------------------------------

@pytest.mark.rule("C1a")
def test_a_queue_log_or_http_source_takes_no_command_and_the_desk_says_so(world, frozen, login, queue_log_source,
                                                                          http_source):
    AgentIdentity.objects.create(source=queue_log_source, agent_ref="SIP/1001", user=world.agent)
    client = login(world.agent)
    html = client.post("/calls/desk/state/", {"reason": "break", "full": "1"}, headers=HTMX).content.decode()
    command = latest()
    assert (command.message, command.unsent, command.source) == (None, NoCommand.NO_COMMANDS, queue_log_source)
    assert not OutboxMessage.objects.exists()
    assert 'data-desk-state="not_ready"' in html and 'data-switch="phone"' in html
    assert "未发送至交换机" in html and "请同时在话机上设置" in html and "asterisk-1" in html
    assert english_words(html, allow={"asterisk", "queue_log"}) == []

    # A call of an HTTP source: the escalation is recorded, the transfer is the agent's on the phone.
    calls.ingest(http_source, [
        calls.EventIn(source_event_id="o1", type="call.offered", occurred_at=clock.now(), call_id="c1", queue="q",
                      payload={"caller_number": "13800001111"}),
        calls.EventIn(source_event_id="r1", type="call.ringing", occurred_at=clock.now(), call_id="c1", queue="q",
                      agent="1001")])
    call = Call.objects.get(call_id="c1")
    html = client.post("/calls/desk/transfer/", {"call": call.pk, "target": "shift_leader"},
                       headers=HTMX).content.decode()
    assert Escalation.objects.get().command == "phone" and latest().unsent == NoCommand.NO_COMMANDS
    assert "请在话机上转接" in html and 'data-escalation-switch="phone"' in html
    assert not OutboxMessage.objects.exists()


@pytest.mark.rule("C1a")
def test_a_switch_without_a_command_connection_or_a_destination_says_why(world, frozen, http_source):
    source = calls.create_source(name="asterisk-ami", kind="asterisk_ami")
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    desk.set_state(user=world.agent, action="not_ready", reason="break")
    assert latest().unsent == NoCommand.NOT_CONFIGURED
    assert "asterisk-ami 未配置交换机指令连接" in desk_selectors.latest_command(world.agent).text
    source.command_host = "127.0.0.1"
    source.save()
    call = ami_call(source)
    desk.escalate(user=world.agent, call=call, target="expert")
    assert latest().unsent == NoCommand.NO_DESTINATION and not OutboxMessage.objects.filter(
        dedup_key__contains="escalation").exists()
    # Nobody's switch: a user no source knows.
    desk.set_state(user=world.agent2, action="not_ready", reason="break")
    assert SwitchCommand.objects.filter(user=world.agent2).get().unsent in (NoCommand.NO_INTERFACE,
                                                                           NoCommand.NO_SWITCH)


def test_no_newline_gets_into_a_command():
    from hotline.calls.adapters import freeswitch_esl as esl
    from hotline.calls.adapters._commands import CommandValueError

    with pytest.raises(CommandValueError):
        ami.pause_actions("SIP/1001\r\nAction: Originate", paused=True)
    with pytest.raises(CommandValueError):
        esl.status_command("1001@default'\n\napi shutdown", "On Break")
    with pytest.raises(CommandValueError):
        esl.transfer_command("uuid", "9001 XML default\n\napi fsctl shutdown")
    with pytest.raises(CommandValueError):
        ami.transfer_actions(destination="9001", channel="SIP/x")


def test_the_channel_is_registered_and_commands_expire(world):
    from hotline.core import channels

    assert channels.get("switch").problems() == []
    assert dt.timedelta(seconds=channels.get("switch").timeout()) >= dt.timedelta(seconds=5)


@pytest.mark.rule("C1a")
def test_the_command_line_sets_a_sources_command_connection(world):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from hotline.calls.models import EventSource

    out = io.StringIO()
    call_command("calls", "source", "pbx-1", "--kind", "asterisk_ami", "--command-host", "10.0.0.5",
                 "--command-user", "hotline", "--command-secret", "env:PBX1_SECRET", "--transfer-expert",
                 "9001@experts", "--attended", stdout=out)
    assert out.getvalue().strip() == "source pbx-1 (asterisk_ami) commands to 10.0.0.5:5038"
    source = EventSource.objects.get(name="pbx-1")
    assert (source.command_host, source.command_username, source.command_secret, source.transfer_expert,
            source.transfer_attended, source.takes_commands) == (
        "10.0.0.5", "hotline", "env:PBX1_SECRET", "9001@experts", True, True)
    with pytest.raises(CommandError):
        call_command("calls", "source", "acd-1", "--kind", "http", "--command-host", "10.0.0.6")
