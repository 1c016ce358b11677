"""``hotline calls``: load and check a switch's logs from the command line.

    hotline calls import PATH --format queue_log [--source NAME] [--follow]
    hotline calls kpi --from ISO --to ISO [--queue NAME] [--agent NAME] [--T S] [--S S] [--json]
    hotline calls intervals --from ISO --to ISO
    hotline calls source NAME [--kind http] [--token] [--command-host H --command-user U --command-secret S …]

``import`` loads a queue_log file through the ingest path (reading it again
adds nothing: its lines are duplicates) and prints the events read,
stored, duplicate and unplaced; ``--follow`` then keeps reading what
Asterisk appends, through rotation and truncation, remembering where it
was in the database. ``kpi`` prints the KPIs of a period (offer time,
half-open, the center's time zone without an offset). ``intervals``
recomputes a period's interval statistics from its calls (after T or S
changed). ``source`` creates
a source and, with ``--token``, prints a new API token for it (once);
``--command-…`` set an AMI or ESL source's command connection (the desk's
commands to the switch, docs/switch-commands.md).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from hotline.calls import kpis, services
from hotline.calls.models import (
    COMMAND_KINDS,
    DEFAULT_COMMAND_PORTS,
    EventSource,
    SourceKind,
)

COMMAND_FIELDS = ("command_host", "command_port", "command_username", "command_secret", "agent_interface",
                  "login_queues", "transfer_expert", "transfer_shift_leader", "transfer_attended")


def source_named(name: str, *, kind: str, create: bool = True) -> EventSource:
    source = EventSource.objects.filter(name=name).first()
    if source is None:
        if not create:
            raise CommandError(f"no event source {name!r}")
        source = services.create_source(name=name, kind=kind)
    return source


def counts_line(lines: int, result: services.IngestResult) -> str:
    return (f"read {lines}  stored {result.accepted}  duplicate {result.duplicate}  unplaced {result.unplaced}")


def run_import(command: BaseCommand, *, path: str, source_name: str, follow: bool, poll: float, batch: int) -> None:
    from hotline.calls.adapters import asterisk_queue_log as ql

    source = source_named(source_name, kind=SourceKind.ASTERISK_QUEUE_LOG)
    if not follow:
        try:
            lines, result = ql.import_file(source, path, batch=batch)
        except FileNotFoundError:
            raise CommandError(f"no file {path!r}") from None
        command.stdout.write(counts_line(lines, result))
        reasons: dict[str, int] = {}
        for _id, reason in result.unplaced_events:
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, n in sorted(reasons.items()):
            command.stdout.write(f"  unplaced {reason}: {n}")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    tailer = ql.Tailer(source, path, batch=batch, poll=poll)
    command.stdout.write(f"following {tailer.path} for source {source.name} (Ctrl+C to stop)")
    tailer.run(stop=stop, on_progress=lambda t: command.stdout.write(counts_line(t.lines, t.total)))
    command.stdout.write(counts_line(tailer.lines, tailer.total))


class Command(BaseCommand):
    help = "Call events: import a switch's log (queue_log), print KPIs, set up a source."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="load a log file through the ingest path")
        imp.add_argument("path")
        imp.add_argument("--format", default="queue_log", choices=["queue_log"])
        imp.add_argument("--source", default="asterisk", help="the event source (created if new)")
        imp.add_argument("--follow", action="store_true", help="keep reading what is appended (tail -F)")
        imp.add_argument("--poll", type=float, default=0.5, help="seconds between looks at the file (--follow)")
        imp.add_argument("--batch", type=int, default=2000)
        kpi = sub.add_parser("kpi", help="print the KPIs of a period")
        kpi.add_argument("--from", dest="start", required=True, help="ISO date or time (offer time, inclusive)")
        kpi.add_argument("--to", dest="end", required=True, help="ISO date or time (exclusive)")
        kpi.add_argument("--queue")
        kpi.add_argument("--agent", help="username or agent number")
        kpi.add_argument("--source")
        kpi.add_argument("--T", dest="T", type=float, help="service-level seconds (default: the policy)")
        kpi.add_argument("--S", dest="S", type=float, help="short-abandon seconds (default: the policy)")
        kpi.add_argument("--json", action="store_true")
        ivl = sub.add_parser("intervals", help="recompute the interval statistics of a period (after T or S changed)")
        ivl.add_argument("--from", dest="start", required=True)
        ivl.add_argument("--to", dest="end", required=True)
        src = sub.add_parser("source", help="create an event source; --token prints a new API token")
        src.add_argument("name")
        src.add_argument("--kind", default=SourceKind.HTTP, choices=SourceKind.values)
        src.add_argument("--token", action="store_true")
        # The command connection of an AMI or ESL source (docs/switch-commands.md).
        for option, dest, help_text in [
                ("--command-host", "command_host", "the switch's AMI / event socket address ('' for none)"),
                ("--command-user", "command_username", "the AMI user"),
                ("--command-secret", "command_secret", "the AMI secret / ESL password, or env:NAME"),
                ("--agent-interface", "agent_interface", "e.g. PJSIP/{agent_number} or {agent_number}@default"),
                ("--login-queues", "login_queues", "AMI: queues of sign-in and sign-out, comma-separated"),
                ("--transfer-expert", "transfer_expert", "AMI: exten@context; ESL: exten [dialplan [context]]"),
                ("--transfer-shift-leader", "transfer_shift_leader", "as --transfer-expert")]:
            src.add_argument(option, dest=dest, help=help_text)
        src.add_argument("--command-port", dest="command_port", type=int)
        src.add_argument("--attended", dest="transfer_attended", action=argparse.BooleanOptionalAction,
                         help="AMI: Atxfer from the agent's channel instead of a Redirect of the caller's")

    def handle(self, *args, action, **options):
        if action == "import":
            run_import(self, path=options["path"], source_name=options["source"], follow=options["follow"],
                       poll=options["poll"], batch=options["batch"])
        elif action == "kpi":
            self._kpi(options)
        elif action == "intervals":
            from hotline.calls import intervals

            period = kpis.Period.parse(options["start"], options["end"])
            n = intervals.rebuild(period.start, period.end)
            self.stdout.write(f"interval statistics recomputed from {n} calls")
        else:
            source = source_named(options["name"], kind=options["kind"])
            self._command_connection(source, options)
            if options["token"]:
                self.stdout.write(services.issue_source_token(source))
            else:
                line = f"source {source.name} ({source.kind})"
                if source.takes_commands:
                    port = source.command_port or DEFAULT_COMMAND_PORTS[source.kind]
                    line += f" commands to {source.command_host}:{port}"
                self.stdout.write(line)

    @staticmethod
    def _command_connection(source: EventSource, options) -> None:
        changed = [f for f in COMMAND_FIELDS if options.get(f) is not None]
        if not changed:
            return
        if source.kind not in COMMAND_KINDS:
            raise CommandError(f"{source.name} ({source.kind}) takes no commands: only asterisk_ami and "
                               "freeswitch_esl sources have a command connection")
        for name in changed:
            setattr(source, name, options[name])
        source.save(update_fields=changed)

    def _kpi(self, options) -> None:
        from hotline.calls.selectors import agent_named

        try:
            period = kpis.Period.parse(options["start"], options["end"])
        except ValueError as exc:
            raise CommandError(f"--from/--to: {exc}") from None
        agent = None
        if options.get("agent"):
            agent = agent_named(options["agent"])
            if agent is None:
                raise CommandError(f"no agent {options['agent']!r}")
        source = source_named(options["source"], kind="", create=False) if options.get("source") else None
        report = kpis.report(period, queue=options.get("queue"), agent=agent, source=source,
                             settings=kpis.Settings.current(T=options.get("T"), S=options.get("S")))
        data = report.as_dict()
        if agent is not None:
            data["agent"] = agent.username
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        for key, value in data.items():
            self.stdout.write(f"{key:28} {value}")
