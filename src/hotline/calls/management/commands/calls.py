"""``hotline calls``: load and check a switch's logs from the command line.

    hotline calls import PATH --format queue_log [--source NAME] [--follow]
    hotline calls kpi --from ISO --to ISO [--queue NAME] [--agent NAME] [--T S] [--S S] [--json]
    hotline calls intervals --from ISO --to ISO
    hotline calls source NAME [--kind http] [--token]

``import`` loads a queue_log file through the ingest path (reading it again
adds nothing: its lines are duplicates) and prints the events read,
stored, duplicate and unplaced; ``--follow`` then keeps reading what
Asterisk appends, through rotation and truncation, remembering where it
was in the database. ``kpi`` prints the KPIs of a period (offer time,
half-open, the center's time zone without an offset). ``intervals``
recomputes a period's interval statistics from its calls (after T or S
changed). ``source`` creates
a source and, with ``--token``, prints a new API token for it (once).
"""

from __future__ import annotations

import json
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from hotline.calls import kpis, services
from hotline.calls.models import EventSource, SourceKind


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
            if options["token"]:
                self.stdout.write(services.issue_source_token(source))
            else:
                self.stdout.write(f"source {source.name} ({source.kind})")

    def _kpi(self, options) -> None:
        from hotline.organisation.models import User

        try:
            period = kpis.Period.parse(options["start"], options["end"])
        except ValueError as exc:
            raise CommandError(f"--from/--to: {exc}") from None
        agent = None
        if options.get("agent"):
            agent = (User.objects.filter(username=options["agent"]).first()
                     or User.objects.filter(agent_number=options["agent"]).first())
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
