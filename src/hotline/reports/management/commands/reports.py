"""``hotline reports``:

    hotline reports kpi --from ISO --to ISO [--unit CODE] [--queue NAME] [--agent NAME] [--json]
    hotline reports score --month YYYY-MM --unit CODE [--json]

``kpi`` prints the call KPIs (as ``hotline calls kpi`` does) and the
order-side KPIs of the unit's subtree (C3j–C3q, C3s–C3u, C3y) as one
object: snake_case keys, rates as fractions (complaints per million
customers per million), ``null`` where a denominator is zero. Periods are
half-open, a time without an offset in the center's time zone. ``score``
prints a center's monthly score out of 100 (C4g) with each item and
deduction.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Center reports: print the call and order KPIs of a period."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        kpi = sub.add_parser("kpi", help="print the call and order KPIs of a period")
        kpi.add_argument("--from", dest="start", required=True, help="ISO date or time (inclusive)")
        kpi.add_argument("--to", dest="end", required=True, help="ISO date or time (exclusive)")
        kpi.add_argument("--unit", help="code of the center (or any unit): its subtree")
        kpi.add_argument("--queue")
        kpi.add_argument("--agent", help="username or agent number")
        kpi.add_argument("--json", action="store_true")
        score = sub.add_parser("score", help="print a center's monthly score out of 100")
        score.add_argument("--month", required=True, help="YYYY-MM")
        score.add_argument("--unit", required=True, help="code of the customer-service center")
        score.add_argument("--json", action="store_true")

    def handle(self, *args, action, **options):
        if action == "kpi":
            self._kpi(options)
        elif action == "score":
            self._score(options)

    def _kpi(self, options) -> None:
        from hotline.calls.selectors import agent_named
        from hotline.organisation.models import Unit
        from hotline.reports import kpis

        try:
            period = kpis.Period.parse(options["start"], options["end"])
        except ValueError as exc:
            raise CommandError(f"--from/--to: {exc}") from None
        unit = None
        if options.get("unit"):
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"no unit {options['unit']!r}")
        agent = None
        if options.get("agent"):
            agent = agent_named(options["agent"])
            if agent is None:
                raise CommandError(f"no agent {options['agent']!r}")
        data = kpis.report(period, kpis.Scope(unit=unit, queue=options.get("queue") or None, agent=agent))
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        for key, value in data.items():
            self.stdout.write(f"{key:34} {value}")

    def _score(self, options) -> None:
        import datetime as dt

        from hotline.organisation.models import Unit
        from hotline.reports import scoring

        try:
            month = dt.date.fromisoformat(f"{options['month']}-01")
        except ValueError:
            raise CommandError(f"--month: {options['month']!r} is not YYYY-MM") from None
        center = Unit.objects.filter(code=options["unit"]).first()
        if center is None:
            raise CommandError(f"no unit {options['unit']!r}")
        s = scoring.monthly_score(center, month)
        data = {"unit": center.code, "month": s.month.strftime("%Y-%m"), "score": s.total, "earned": s.earned,
                "deducted": s.deducted,
                "items": [{"metric": i.metric, "value": i.value, "target": i.target, "points": i.points,
                           "method": i.method, "earned": i.earned} for i in s.items],
                "deductions": [{"event": d.event, "count": d.count, "points_each": d.points_each, "cap": d.cap,
                                "deducted": d.deducted} for d in s.deductions]}
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(f"score {data['score']:.2f} / 100 (earned {data['earned']:.2f}, deducted {data['deducted']:.2f})")
        for i in data["items"]:
            self.stdout.write(f"  {i['metric']:34} {i['earned']:6.2f} of {i['points']:6.2f}")
        for d in data["deductions"]:
            self.stdout.write(f"  -{d['event']:33} {d['deducted']:6.2f} ({d['count']} x {d['points_each']:g}, at most {d['cap']:g})")
