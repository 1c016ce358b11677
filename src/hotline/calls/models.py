"""Calls from the switch: the normalised events every source sends (C1c),
the call records derived from them (one per queue entry, C5b), agents'
states with their history.

Events are the facts; a ``Call`` is derived from all the events of its
call id, ordered by time, every time one of them arrives (``derive.py``),
so the same events in any order, sent any number of times, give the same
calls (C1h, C5h). An event the ingest cannot place yet is kept, with the
reason, and tried again (C1i, C5g).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceKind(models.TextChoices):
    HTTP = "http", _("HTTP ingest")
    ASTERISK_QUEUE_LOG = "asterisk_queue_log", _("Asterisk queue_log")
    ASTERISK_AMI = "asterisk_ami", _("Asterisk AMI")
    FREESWITCH_ESL = "freeswitch_esl", _("FreeSWITCH event socket")
    SIMULATOR = "simulator", _("Simulator")
    # hotline's own agent desk: an agent's ready / not ready / after-call work
    # set from their page, fed through the same ingest as a switch's (C1b).
    DESK = "desk", _("Agent desk")


# Which sources report hold and after-call work: queue_log has neither, so
# its calls' AHT is talk time only and the KPI report says so (C5e).
# What a kind of source cannot report (queue_log has neither hold nor
# wrap-up, AMI's queue events no wrap-up, mod_callcenter neither): their
# calls keep those unknown rather than zero (C5e).
KIND_CARRIES_HOLD = {SourceKind.ASTERISK_QUEUE_LOG: False, SourceKind.FREESWITCH_ESL: False}
KIND_CARRIES_WRAPUP = {SourceKind.ASTERISK_QUEUE_LOG: False, SourceKind.ASTERISK_AMI: False,
                       SourceKind.FREESWITCH_ESL: False}


class EventSource(models.Model):
    """A switch, adapter or client feeding events. Its name is also the
    ``source`` of the contacts its calls make."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=SourceKind.choices)
    # Only a hash of the source's API token is kept; the key is shown once.
    token_hash = models.CharField(_("token hash"), max_length=64, blank=True, default="", db_index=True)
    token_prefix = models.CharField(_("token prefix"), max_length=8, blank=True, default="")
    carries_hold = models.BooleanField(_("reports hold"), default=True,
                                       help_text=_("Whether the source's events say when a call is on hold"))
    carries_wrapup = models.BooleanField(_("reports after-call work"), default=True,
                                         help_text=_("Whether the source's events say when after-call work starts "
                                                     "and ends"))
    active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(_("created at"))
    # The command connection (C1a): where hotline sends the switch its
    # commands (AMI QueuePause / Redirect, ESL callcenter_config /
    # uuid_transfer) through the outbox's ``switch`` channel. Only Asterisk
    # AMI and FreeSWITCH ESL sources have one; empty host: none.
    command_host = models.CharField(_("command host"), max_length=200, blank=True, default="",
                                    help_text=_("The switch's manager interface (AMI) or event socket (ESL); empty: "
                                                "hotline sends this switch no commands"))
    command_port = models.PositiveIntegerField(_("command port"), null=True, blank=True,
                                               help_text=_("Empty: 5038 for AMI, 8021 for ESL"))
    command_username = models.CharField(_("command user"), max_length=80, blank=True, default="",
                                        help_text=_("The AMI user (manager.conf); ESL has none"))
    command_secret = models.CharField(
        _("command secret"), max_length=200, blank=True, default="",
        help_text=_("The AMI secret or the ESL password; env:NAME reads it from the environment variable NAME"))
    agent_interface = models.CharField(
        _("agent interface"), max_length=80, blank=True, default="",
        help_text=_("How the switch names an agent the source has sent no event of yet, from the agent number: "
                    "PJSIP/{agent_number} (AMI), {agent_number}@default (ESL)"))
    login_queues = models.CharField(_("sign-in queues"), max_length=300, blank=True, default="",
                                    help_text=_("AMI: the queues a sign-in adds the agent to and a sign-out removes "
                                                "them from, comma-separated; empty: the agent's known queues"))
    transfer_expert = models.CharField(_("expert transfer destination"), max_length=120, blank=True, default="",
                                       help_text=_("AMI: exten@context; ESL: exten [dialplan [context]]"))
    transfer_shift_leader = models.CharField(_("shift leader transfer destination"), max_length=120, blank=True,
                                             default="", help_text=_("AMI: exten@context; ESL: exten [dialplan "
                                                                     "[context]]"))
    transfer_attended = models.BooleanField(_("attended transfer"), default=False,
                                            help_text=_("AMI: Atxfer from the agent's channel instead of a "
                                                        "Redirect of the caller's"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("event source")
        verbose_name_plural = _("event sources")

    def __str__(self) -> str:
        return self.name

    @property
    def takes_commands(self) -> bool:
        """Whether hotline can command this source's switch (C1a)."""
        return self.kind in COMMAND_KINDS and bool(self.command_host.strip())


# The kinds of source with a command path; a queue_log file, an HTTP client
# and the simulator only tell.
COMMAND_KINDS = frozenset({SourceKind.ASTERISK_AMI, SourceKind.FREESWITCH_ESL})
DEFAULT_COMMAND_PORTS = {SourceKind.ASTERISK_AMI: 5038, SourceKind.FREESWITCH_ESL: 8021}


class EventType(models.TextChoices):
    """The normalised events (C1c), and the two ring outcomes the spec's
    KPIs count (C5i) that a switch reports besides."""

    CALL_OFFERED = "call.offered", _("Call offered")
    CALL_RINGING = "call.ringing", _("Ringing an agent")
    CALL_RING_NO_ANSWER = "call.ring_no_answer", _("Agent did not answer")
    CALL_RING_CANCELED = "call.ring_canceled", _("Ringing cancelled")
    CALL_ANSWERED = "call.answered", _("Call answered")
    CALL_HELD = "call.held", _("Call on hold")
    CALL_RESUMED = "call.resumed", _("Call resumed")
    CALL_TRANSFERRED = "call.transferred", _("Call transferred")
    CALL_ENDED = "call.ended", _("Call ended")
    CALL_ABANDONED = "call.abandoned", _("Call abandoned")
    AGENT_LOGIN = "agent.login", _("Agent logged in")
    AGENT_LOGOUT = "agent.logout", _("Agent logged out")
    AGENT_READY = "agent.ready", _("Agent ready")
    AGENT_NOT_READY = "agent.not_ready", _("Agent not ready")
    AGENT_WRAPUP_STARTED = "agent.wrapup_started", _("After-call work started")
    AGENT_WRAPUP_ENDED = "agent.wrapup_ended", _("After-call work ended")
    SURVEY_ANSWERED = "survey.answered", _("Satisfaction survey answered")
    RECORDING_AVAILABLE = "recording.available", _("Recording available")
    # A line or message the adapter does not know: kept, never placed (C5g).
    UNKNOWN = "unknown", _("Unknown event")


CALL_TYPES = frozenset(t for t in EventType.values if t.startswith("call.")) | {
    EventType.SURVEY_ANSWERED, EventType.RECORDING_AVAILABLE}
AGENT_TYPES = frozenset(t for t in EventType.values if t.startswith("agent."))

# Ties of one instant are broken by the order calls go through, then by the
# source's event id: every ordering of the same events is the same ordering.
TYPE_RANK = {
    EventType.AGENT_LOGIN: 0, EventType.AGENT_READY: 1, EventType.CALL_OFFERED: 2, EventType.CALL_RINGING: 3,
    EventType.CALL_RING_NO_ANSWER: 4, EventType.CALL_RING_CANCELED: 4, EventType.CALL_ANSWERED: 5,
    EventType.CALL_HELD: 6, EventType.CALL_RESUMED: 7, EventType.CALL_TRANSFERRED: 8, EventType.CALL_ENDED: 9,
    EventType.CALL_ABANDONED: 9, EventType.AGENT_WRAPUP_STARTED: 10, EventType.AGENT_WRAPUP_ENDED: 11,
    EventType.SURVEY_ANSWERED: 12, EventType.RECORDING_AVAILABLE: 12, EventType.AGENT_NOT_READY: 13,
    EventType.AGENT_LOGOUT: 14, EventType.UNKNOWN: 15,
}


class Placement(models.TextChoices):
    PLACED = "placed", _("Placed")
    UNPLACED = "unplaced", _("Not placed")


class Reason(models.TextChoices):
    NONE = "", _("None")
    NO_CALL = "no_call", _("No queue entry of this call before it")
    UNKNOWN_AGENT = "unknown_agent", _("Unknown agent")
    UNKNOWN_EVENT = "unknown_event", _("Event the adapter does not know")
    INVALID = "invalid", _("Line or data that cannot be read")
    SYSTEM = "system", _("A line of the switch itself, of no call or agent")


RETRIED_REASONS = frozenset({Reason.NO_CALL, Reason.UNKNOWN_AGENT})
# Never placed: kept and reported only (C5g).
PERMANENT_REASONS = frozenset({Reason.UNKNOWN_EVENT, Reason.INVALID, Reason.SYSTEM})


class CallEvent(models.Model):
    """One normalised event as a source sent it. The pair (source, source
    event id) is unique: a second delivery is a duplicate, counted and not
    applied again (C5h)."""

    source = models.ForeignKey(EventSource, on_delete=models.PROTECT, related_name="events", db_index=False,
                               verbose_name=_("source"))
    source_event_id = models.CharField(_("source event id"), max_length=120)
    type = models.CharField(_("type"), max_length=30, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    call_id = models.CharField(_("call id"), max_length=120, blank=True, default="")
    agent_ref = models.CharField(_("agent id"), max_length=80, blank=True, default="",
                                 help_text=_("The agent as the source names it (interface, member or agent number)"))
    queue = models.CharField(_("queue"), max_length=60, blank=True, default="")
    payload = models.JSONField(_("data"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"))
    state = models.CharField(_("placement"), max_length=10, choices=Placement.choices, default=Placement.PLACED)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True, default="")
    # The call record it counts in, when it is placed on one.
    call_record = models.ForeignKey("Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="events",
                                    verbose_name=_("call record"))
    attempts = models.PositiveIntegerField(_("placement attempts"), default=1)
    retry_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "source_event_id"], name="callevent_source_unique")]
        indexes = [
            models.Index(fields=["source", "call_id", "occurred_at"], name="callevent_call_idx"),
            models.Index(fields=["source", "agent_ref", "occurred_at"], name="callevent_agent_idx"),
            models.Index(fields=["retry_at"], name="callevent_retry_idx", condition=models.Q(retry_at__isnull=False)),
            models.Index(fields=["state", "received_at"], name="callevent_unplaced_idx",
                         condition=models.Q(state="unplaced")),
        ]
        verbose_name = _("call event")
        verbose_name_plural = _("call events")

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.call_id or self.agent_ref} {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class CallStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    TALKING = "talking", _("Talking")
    ENDED = "ended", _("Answered and ended")
    ABANDONED = "abandoned", _("Abandoned")


IN_PROGRESS = (CallStatus.WAITING, CallStatus.TALKING)


class AbandonReason(models.TextChoices):
    NONE = "", _("None")
    HANGUP = "hangup", _("Caller hung up")
    TIMEOUT = "timeout", _("Queue timeout")
    KEY = "key", _("Caller pressed a key to leave")
    EMPTY = "empty", _("No agents in the queue")


class HungUpBy(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")


class Call(models.Model):
    """One entry of a call into a queue (C5b): a caller passing through two
    queues is two calls of one contact. Derived from the call's events;
    never edited by hand."""

    source = models.ForeignKey(EventSource, on_delete=models.PROTECT, related_name="calls", db_index=False,
                               verbose_name=_("source"))
    call_id = models.CharField(_("call id"), max_length=120)
    entry = models.PositiveSmallIntegerField(_("queue entry"), default=1,
                                             help_text=_("Which entry into a queue of this call id (1 = first)"))
    queue = models.CharField(_("queue"), max_length=60, blank=True, default="")
    caller_number = models.CharField(_("caller number"), max_length=40, blank=True, default="")
    called_number = models.CharField(_("called number"), max_length=40, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=CallStatus.choices, default=CallStatus.WAITING)
    offered_at = models.DateTimeField(_("offered at"))
    answered_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    wait_s = models.FloatField(_("wait (s)"), null=True, blank=True,
                               help_text=_("Until the answer; of an abandoned call, until the caller left"))
    abandon_reason = models.CharField(_("abandon reason"), max_length=10, choices=AbandonReason.choices, blank=True,
                                      default="")
    agent_ref = models.CharField(_("answering agent id"), max_length=80, blank=True, default="")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", db_index=False, verbose_name=_("answering agent"))
    ring_s = models.FloatField(_("ring time (s)"), null=True, blank=True,
                               help_text=_("The answering agent's ring before the answer; empty when the source "
                                           "did not report it"))
    ring_no_answer = models.PositiveSmallIntegerField(_("rings not answered"), default=0)
    talk_s = models.FloatField(_("talk (s)"), null=True, blank=True)
    hold_s = models.FloatField(_("hold (s)"), null=True, blank=True, help_text=_("Empty when the source does not "
                                                                                 "report hold"))
    holds = models.PositiveSmallIntegerField(_("holds"), default=0)
    wrapup_s = models.FloatField(_("after-call work (s)"), null=True, blank=True,
                                 help_text=_("Empty when the source does not report after-call work"))
    transfers = models.PositiveSmallIntegerField(_("transfers"), default=0)
    transfer_target = models.CharField(_("transferred to"), max_length=120, blank=True, default="")
    hung_up_by = models.CharField(_("hung up first"), max_length=10, choices=HungUpBy.choices, blank=True,
                                  default="")
    recording_ref = models.CharField(_("recording"), max_length=300, blank=True, default="")
    survey_answer = models.PositiveSmallIntegerField(_("satisfaction answer"), null=True, blank=True,
                                                     help_text=_("1 satisfied, 2 basically satisfied, 3 dissatisfied"))
    contact = models.ForeignKey("contacts.Contact", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="calls", verbose_name=_("contact"))
    last_event_at = models.DateTimeField(_("last event at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["-offered_at"]
        constraints = [models.UniqueConstraint(fields=["source", "call_id", "entry"], name="call_entry_unique")]
        indexes = [
            # Covering (PostgreSQL): the KPI report's one query over a month of a
            # provincial center (~900,000 calls), of all sources or one, reads the
            # index alone.
            models.Index(fields=["offered_at", "queue"], name="call_offered_cover_idx", include=[
                "id", "source", "status", "wait_s", "talk_s", "hold_s", "wrapup_s", "ring_s", "ring_no_answer",
                "survey_answer"]),
            models.Index(fields=["agent", "offered_at"], name="call_agent_idx"),
            models.Index(fields=["status", "offered_at"], name="call_open_idx",
                         condition=models.Q(status__in=["waiting", "talking"])),
        ]
        verbose_name = _("call record")
        verbose_name_plural = _("call records")

    def __str__(self) -> str:
        return f"{self.queue} {self.caller_number} {self.offered_at:%Y-%m-%d %H:%M:%S}"

    def ring_count(self, cycle_s: float) -> int | None:
        """⌈ring time ÷ ring cycle⌉ (C5d); None when the ring time is unknown."""
        if self.ring_s is None:
            return None
        return math.ceil(self.ring_s / cycle_s - 1e-9) if self.ring_s > 0 else 0


class RingOutcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    NO_ANSWER = "no_answer", _("Not answered")
    CANCELED = "canceled", _("Ring cancelled")
    RINGING = "ringing", _("Ringing")


class CallRing(models.Model):
    """One ring of an agent's phone for a call: the answering one and those
    not answered (C5i: an agent's KPIs count the calls that rang them
    unanswered)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="rings", verbose_name=_("call"))
    seq = models.PositiveSmallIntegerField(_("ring number"))
    agent_ref = models.CharField(_("agent id"), max_length=80, blank=True, default="")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("agent"))
    at = models.DateTimeField(_("ended at"))
    ring_s = models.FloatField(_("ring time (s)"), null=True, blank=True)
    outcome = models.CharField(_("ring outcome"), max_length=10, choices=RingOutcome.choices)

    class Meta:
        ordering = ["call", "seq"]
        constraints = [models.UniqueConstraint(fields=["call", "seq"], name="callring_seq_unique")]
        verbose_name = _("agent ring")
        verbose_name_plural = _("agent rings")

    def __str__(self) -> str:
        return f"{self.agent_ref} {self.get_outcome_display()}"


class AgentIdentity(models.Model):
    """Who an agent id of a source is. Found by the user's agent number the
    first time (``SIP/1001`` → agent number 1001) or set here by an
    administrator; then the agent's waiting events are placed."""

    source = models.ForeignKey(EventSource, on_delete=models.CASCADE, related_name="agents", db_index=False,
                               verbose_name=_("source"))
    agent_ref = models.CharField(_("agent id"), max_length=80)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("agent"))

    class Meta:
        ordering = ["source", "agent_ref"]
        constraints = [models.UniqueConstraint(fields=["source", "agent_ref"], name="agentidentity_unique")]
        verbose_name = _("agent identity")
        verbose_name_plural = _("agent identities")

    def __str__(self) -> str:
        return f"{self.source} {self.agent_ref}"


class AgentStateKind(models.TextChoices):
    LOGGED_OUT = "logged_out", _("Signed out")
    READY = "ready", _("Ready")
    NOT_READY = "not_ready", _("Not ready")
    RINGING = "ringing", _("Ringing")
    TALKING = "talking", _("Talking")
    HOLD = "hold", _("On hold")
    WRAP_UP = "wrap_up", _("After-call work")
    # The end of a call activity (the agent back to ready or not ready).
    IDLE = "idle", _("Call activity over")


class StateDimension(models.TextChoices):
    PRESENCE = "presence", _("Presence")
    ACTIVITY = "activity", _("Call activity")


class AgentState(models.Model):
    """An agent's state now: logged out when logged into no queue, else the
    call activity (ringing, talking, hold, after-call work) when there is
    one, else ready or not ready (with the reason). Each part is the latest
    event of its kind, so events arriving in any order give the same state."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="call_state", verbose_name=_("agent"))
    state = models.CharField(_("state"), max_length=12, choices=AgentStateKind.choices,
                             default=AgentStateKind.LOGGED_OUT)
    reason = models.CharField(_("reason"), max_length=60, blank=True, default="")
    since = models.DateTimeField(_("since"), null=True, blank=True)
    presence = models.CharField(_("presence"), max_length=12, choices=AgentStateKind.choices,
                                default=AgentStateKind.LOGGED_OUT)
    presence_reason = models.CharField(_("not-ready reason"), max_length=60, blank=True, default="")
    presence_at = models.DateTimeField(_("presence since"), null=True, blank=True)
    presence_key = models.CharField(max_length=250, blank=True, default="", editable=False)
    activity = models.CharField(_("call activity"), max_length=12, choices=AgentStateKind.choices,
                                default=AgentStateKind.IDLE)
    activity_call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                      verbose_name=_("call"))
    activity_at = models.DateTimeField(_("call activity since"), null=True, blank=True)
    activity_key = models.CharField(max_length=250, blank=True, default="", editable=False)
    # Queue → [logged in, order key of the deciding event]; "*" an agent's
    # log-in or log-off in every queue at once (AGENTLOGIN / AGENTLOGOFF).
    memberships = models.JSONField(_("queues"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["user"]
        verbose_name = _("agent state")
        verbose_name_plural = _("agent states")

    def __str__(self) -> str:
        return f"{self.user} {self.get_state_display()}"


class AgentStateEvent(models.Model):
    """An agent's state history, one row per event that sets a part of it
    (append-only: refused UPDATE and DELETE on PostgreSQL)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("agent"))
    at = models.DateTimeField(_("at"))
    dimension = models.CharField(_("part"), max_length=10, choices=StateDimension.choices)
    state = models.CharField(_("state"), max_length=12, choices=AgentStateKind.choices)
    reason = models.CharField(_("reason"), max_length=60, blank=True, default="")
    queue = models.CharField(_("queue"), max_length=60, blank=True, default="")
    call = models.ForeignKey(Call, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("call"))
    event = models.ForeignKey(CallEvent, on_delete=models.PROTECT, related_name="+", verbose_name=_("event"))

    class Meta:
        ordering = ["user", "at", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="agentstateevent_once")]
        indexes = [models.Index(fields=["user", "at"], name="agentstateevent_user_idx")]
        verbose_name = _("agent state change")
        verbose_name_plural = _("agent state changes")

    def __str__(self) -> str:
        return f"{self.user} {self.get_state_display()} {self.at:%Y-%m-%d %H:%M:%S}"


class LogCursor(models.Model):
    """Where a tailed log file was read to: the tailer resumes there after a
    restart and notices a rotation (another inode) or a truncation."""

    source = models.ForeignKey(EventSource, on_delete=models.CASCADE, related_name="cursors", db_index=False,
                               verbose_name=_("source"))
    path = models.CharField(_("file"), max_length=500)
    inode = models.BigIntegerField(_("inode"), default=0)
    offset = models.BigIntegerField(_("offset"), default=0)
    # A hash of the file's first line: a file emptied and written again in
    # place (copytruncate) past the old offset is known by another first line.
    head = models.CharField(_("first line hash"), max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "path"], name="logcursor_unique")]
        verbose_name = _("log file position")
        verbose_name_plural = _("log file positions")

    def __str__(self) -> str:
        return f"{self.source} {self.path}"


class IntervalStat(models.Model):
    """Interval statistics (C4f) of one queue (``agent_id`` 0) or one agent
    in it, kept up to date as calls change (``intervals.py``)."""

    minutes = models.PositiveSmallIntegerField(_("interval (minutes)"))
    start = models.DateTimeField(_("interval start"))
    queue = models.CharField(_("queue"), max_length=60, blank=True, default="")
    agent_id = models.BigIntegerField(_("agent (0: the whole queue)"), default=0)
    offered = models.IntegerField(_("offered"), default=0)
    answered = models.IntegerField(_("answered"), default=0)
    abandoned = models.IntegerField(_("abandoned"), default=0)
    short_abandoned = models.IntegerField(_("short abandons"), default=0)
    answered_within_t = models.IntegerField(_("answered within T"), default=0)
    wait_answered_s = models.FloatField(_("wait of the answered (s)"), default=0)
    handle_s = models.FloatField(_("handle time (s)"), default=0)
    ring_no_answer = models.IntegerField(_("rings not answered"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["minutes", "start", "queue", "agent_id"]
        constraints = [models.UniqueConstraint(fields=["minutes", "start", "queue", "agent_id"],
                                               name="intervalstat_unique")]
        indexes = [models.Index(fields=["queue", "minutes", "start"], name="intervalstat_queue_idx")]
        verbose_name = _("interval statistics")
        verbose_name_plural = _("interval statistics")

    def __str__(self) -> str:
        return f"{self.queue} {self.start:%Y-%m-%d %H:%M} {self.minutes}"

    @property
    def aht_s(self) -> float | None:
        return self.handle_s / self.answered if self.answered else None

    @property
    def service_level(self) -> float | None:
        return self.answered_within_t / self.offered if self.offered else None


class EscalationTarget(models.TextChoices):
    EXPERT = "expert", _("Expert")
    SHIFT_LEADER = "shift_leader", _("Shift leader")


class EscalationCommand(models.TextChoices):
    NONE = "", _("None")
    SWITCH = "switch", _("Sent to the switch")
    PHONE = "phone", _("On the phone")


class Escalation(models.Model):
    """A call escalated from the agent desk to an expert or the shift leader
    (C2d): who asked, for which call and contact, when and why. Recorded
    whether or not a switch command could be sent (``command``: what became
    of it); the transfer the switch then makes arrives as its own
    ``call.transferred``. Append-only."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="escalations", verbose_name=_("call"))
    contact = models.ForeignKey("contacts.Contact", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", db_index=False, verbose_name=_("contact"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("agent"))
    target = models.CharField(_("escalated to"), max_length=20, choices=EscalationTarget.choices)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    at = models.DateTimeField(_("at"))
    # "switch": a transfer command was sent through the outbox (its outcome is
    # the escalation's SwitchCommand's message); "phone": the call's source
    # takes no command and the agent transfers on the phone; "" before commands.
    command = models.CharField(_("switch command"), max_length=20, choices=EscalationCommand.choices, blank=True,
                               default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["agent", "at"], name="escalation_agent_idx")]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self) -> str:
        return f"{self.call} → {self.get_target_display()}"


class SwitchAction(models.TextChoices):
    """What the desk asks the switch to do (C1a, C2d)."""

    PAUSE = "pause", _("Not ready at the switch")
    UNPAUSE = "unpause", _("Ready at the switch")
    LOGIN = "login", _("Sign in at the switch")
    LOGOUT = "logout", _("Sign out at the switch")
    TRANSFER = "transfer", _("Transfer at the switch")


# The commands that set the agent's state: the latest one is what the switch should show.
STATE_ACTIONS = (SwitchAction.PAUSE, SwitchAction.UNPAUSE, SwitchAction.LOGIN, SwitchAction.LOGOUT)


class NoCommand(models.TextChoices):
    """Why no command went to the switch (the desk says so, C1a)."""

    SENT = "", _("Sent")
    NO_SWITCH = "no_switch", _("No switch knows the agent")
    NO_COMMANDS = "no_commands", _("The source takes no commands")
    NOT_CONFIGURED = "not_configured", _("The source has no command connection")
    NO_INTERFACE = "no_interface", _("The agent's interface at the switch is not known")
    NO_QUEUES = "no_queues", _("No queues to sign in to or out of")
    NO_DESTINATION = "no_destination", _("No transfer destination configured")
    NO_CHANNEL = "no_channel", _("The call's channel is not known")


class SwitchCommand(models.Model):
    """A command the desk gave the switch for an agent: a state change or a
    transfer. Sent by the outbox (``message``: its state is the command's —
    pending, sent, confirmed, refused with the switch's answer); without a
    message, ``unsent`` says why there was no command path, and the desk
    tells the agent to do it on the phone. Append-only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("agent"))
    source = models.ForeignKey(EventSource, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("source"))
    action = models.CharField(_("command"), max_length=10, choices=SwitchAction.choices)
    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="commands", verbose_name=_("escalation"))
    message = models.ForeignKey("core.OutboxMessage", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("outbox message"))
    unsent = models.CharField(_("not sent because"), max_length=20, choices=NoCommand.choices, blank=True,
                              default="")
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-id"]
        # The desk's poll reads the agent's latest command.
        indexes = [models.Index(fields=["user", "id"], name="switchcommand_user_idx")]
        verbose_name = _("switch command")
        verbose_name_plural = _("switch commands")

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display()}"


class CallDisposition(models.Model):
    """An answered call the agent said at wrap-up needs no new order (C3y):
    a wrong number, a silent call, a caller who hung up at once, harassment,
    a test call, … (``reason``, from the configured list
    ``calls.no_order_reasons``), or a call about an order already recorded
    (``order``: the call's contact is linked to it as a chase-up contact).
    Part of the call's history, append-only: a mistake is put right by
    recording the order after all (an order linked to the call wins)."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="dispositions", verbose_name=_("call"))
    contact = models.ForeignKey("contacts.Contact", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="dispositions", verbose_name=_("contact"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False,
                              verbose_name=_("agent"))
    reason = models.CharField(_("reason"), max_length=60)
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", db_index=False, verbose_name=_("existing work order"))
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("call without an order")
        verbose_name_plural = _("calls without an order")

    def __str__(self) -> str:
        return f"{self.call} {self.reason}"
