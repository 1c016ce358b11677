"""Send one command message to its source's switch.

The message (written by ``calls.desk.commands`` in the desk action's
transaction) carries the source's id, the command already written out in
the switch's protocol (AMI actions or ESL API commands), what a retry of a
transfer checks first, and when it was asked for. The connection (host,
port, user, secret) is read from the source now, so a secret never sits in
the outbox. The adapter speaks the protocol (``asterisk_ami.send_actions``,
``freeswitch_esl.send_commands``) and answers a ``Result``."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from hotline.calls.adapters import asterisk_ami, freeswitch_esl
from hotline.calls.adapters._commands import connection_of
from hotline.calls.channels.switch import conf
from hotline.calls.models import STATE_ACTIONS, EventSource, SourceKind, SwitchCommand
from hotline.core import clock
from hotline.core.channels.base import ConfigError, Message, Result


def _overtaken(message_id: int) -> bool:
    """A state command with a later one of the same agent at the same switch:
    sent now (a retry, after the later one went), it would undo it."""
    command = (SwitchCommand.objects.filter(message_id=message_id, action__in=STATE_ACTIONS)
               .values("id", "user_id", "source_id").first())
    return command is not None and SwitchCommand.objects.filter(
        user_id=command["user_id"], source_id=command["source_id"], action__in=STATE_ACTIONS,
        id__gt=command["id"]).exists()


def send(message: Message) -> Result:
    try:
        cfg = conf.load()
    except ConfigError as exc:
        return Result.retry(str(exc))
    payload = message.payload or {}
    source = EventSource.objects.filter(pk=payload.get("source")).first()
    if source is None or not source.active:
        return Result.refused(_("The event source of this command is gone or no longer in use."))
    if not source.takes_commands:
        return Result.refused(_("%(source)s has no command connection any more.") % {"source": source.name})
    try:
        asked = dt.datetime.fromisoformat(payload["at"])
    except (KeyError, TypeError, ValueError):
        return Result.refused(_("The command says not when it was asked for."))
    if (clock.now() - asked).total_seconds() > cfg.ttl:
        return Result.refused(_("Not sent: more than %(n)d seconds late, the switch may be in another state by "
                                "now.") % {"n": cfg.ttl})
    if _overtaken(message.id):
        return Result.refused(_("Not sent: a later change on the desk replaced it."))
    conn = connection_of(source)
    if source.kind == SourceKind.ASTERISK_AMI and payload.get("kind") == SourceKind.ASTERISK_AMI:
        return asterisk_ami.send_actions(conn, payload["actions"], key=message.dedup_key, verify=payload.get("verify"),
                                         attempt=message.attempts, timeout=cfg.timeout)
    if source.kind == SourceKind.FREESWITCH_ESL and payload.get("kind") == SourceKind.FREESWITCH_ESL:
        return freeswitch_esl.send_commands(conn, payload["api"], key=message.dedup_key, verify=payload.get("verify"),
                                            attempt=message.attempts, timeout=cfg.timeout)
    return Result.refused(_("The command was written for another kind of switch than %(source)s.") % {
        "source": source.name})
