"""Switch commands in order (C1a): an agent's commands at one switch share
one outbox ordering key (the source and the agent's interface), a call's
transfers another, so "not ready" then "ready" reach the switch in that
order whatever the number of workers and sender threads — the second is
not sent before the switch answered the first. Against the local AMI server
of test_switch_commands and real worker processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.db import connection

from hotline.calls.desk import services as desk
from hotline.calls.models import AgentIdentity, SwitchCommand
from hotline.calls.tests.test_switch_commands import (  # noqa: F401
    AmiSwitch,
    ami_call,
    ami_source,
    deliver,
    serve,
)
from hotline.core.models import OutboxMessage, OutboxState
from hotline.core.tests.workers import logs, outbox_workers


class SlowPauseSwitch(AmiSwitch):
    """An Asterisk that takes ``hold`` seconds to carry out a pause (a busy
    switch): the pause is read, then applied and answered only after the
    hold, while other connections are served."""

    def __init__(self, *, hold: float, **kwargs):
        super().__init__(**kwargs)
        self.hold = hold
        self.arrived: list[tuple[float, str]] = []  # (monotonic time, Paused) as each QueuePause came in
        self.answered: list[tuple[float, str]] = []
        self.pause_arrived = threading.Event()

    async def read_action(self, reader):
        action = await AmiSwitch.read_action(reader)
        if action and action.get("Action") == "QueuePause":
            self.arrived.append((time.monotonic(), action["Paused"]))
            if action["Paused"] == "true":
                self.pause_arrived.set()
                await asyncio.sleep(self.hold)
        return action

    def apply(self, action, writer):
        out = super().apply(action, writer)
        if action.get("Action") == "QueuePause":
            self.answered.append((time.monotonic(), action["Paused"]))
        return out


@pytest.mark.rule("C1a")
def test_an_agents_commands_share_an_ordering_key_and_a_calls_transfers_another(world, frozen, serve):  # noqa: F811
    switch = AmiSwitch(members=["SIP/1001"], channels={"SIP/trunk-00000001": ["from-queue", "95598"]})
    source = ami_source(serve(switch), transfer_expert="9001@experts")
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    desk.set_state(user=world.agent, action="not_ready", reason="break")
    desk.set_state(user=world.agent, action="ready")
    call = ami_call(source)
    desk.escalate(user=world.agent, call=call, target="expert")
    keys = [c.message.order_key for c in SwitchCommand.objects.select_related("message").order_by("id")]
    assert keys == [f"switch:{source.pk}:SIP/1001"] * 2 + [f"switch:{source.pk}:call:{call.call_id}"]
    # The ready waits for the not ready; the transfer is not held by either.
    pause, ready, transfer = (c.message for c in SwitchCommand.objects.select_related("message").order_by("id"))
    deliver()
    for m in (pause, ready, transfer):
        m.refresh_from_db()
    # The pause was replaced before it went (the desk's later ready): only the ready reaches the switch.
    assert (pause.state, ready.state, transfer.state) == (OutboxState.FAILED, OutboxState.ACKNOWLEDGED,
                                                          OutboxState.ACKNOWLEDGED)
    assert [f["Paused"] for f in switch.frames if f["Action"] == "QueuePause"] == ["false"]


@pytest.mark.postgres
@pytest.mark.rule("C1a")
def test_not_ready_then_ready_reach_the_switch_in_order_with_two_workers(world, transactional_db, serve,  # noqa: F811
                                                                        tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("several worker processes on one database: PostgreSQL")
    switch = SlowPauseSwitch(members=["SIP/1001"], hold=1.5)
    source = ami_source(serve(switch))
    AgentIdentity.objects.create(source=source, agent_ref="SIP/1001", user=world.agent)
    worker_env = {"HOTLINE_OUTBOX_THREADS": "4", "HOTLINE_OUTBOX_INTERVAL": "0.1", "HOTLINE_SWITCH_TIMEOUT": "5"}
    with outbox_workers(tmp_path, 2, worker_env):
        desk.set_state(user=world.agent, action="not_ready", reason="break")
        assert switch.pause_arrived.wait(60), logs(tmp_path)
        # The switch is carrying out the pause; the agent is back at once.
        desk.set_state(user=world.agent, action="ready")
        messages = [c.message_id for c in SwitchCommand.objects.order_by("id")]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not OutboxMessage.objects.filter(pk__in=messages, state__in=["pending", "sending"]).exists():
                break
            time.sleep(0.1)
    states = list(OutboxMessage.objects.filter(pk__in=messages).order_by("id").values_list("state", flat=True))
    assert states == [OutboxState.ACKNOWLEDGED, OutboxState.ACKNOWLEDGED], logs(tmp_path)
    # In order, each once: the ready left only after the switch had answered the pause.
    assert [p for _t, p in switch.arrived] == ["true", "false"]
    assert switch.arrived[1][0] >= {p: t for t, p in switch.answered}["true"]
    assert switch.members["SIP/1001"]["paused"] is False and switch.pauses == 2
