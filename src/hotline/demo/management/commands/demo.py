"""``hotline demo``: build the demo county center into an empty database."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand, CommandError

from hotline.demo import builder
from hotline.organisation.models import Unit


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_logins(logins: list[builder.Login]) -> str:
    header = builder.Login("username", "role", "unit", "name", "")
    rows = [header, *logins]
    cols = [[r.username, r.role, r.unit, r.name, r.note] for r in rows]
    widths = [max(_width(c[i]) for c in cols) for i in range(5)]
    lines = ["  ".join(_pad(c[i], widths[i]) for i in range(5)).rstrip() for c in cols]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = ("Build the demo county center: organisation, staff, service areas, customers and a history of "
            "work orders, all through the services. Needs a database without an organisation.")

    def add_arguments(self, parser):
        parser.add_argument("--url", default=builder.URL, help="where the web server will answer (printed with the logins)")
        parser.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
        parser.add_argument("--days", type=int, default=7, help="days of work-order and call history (default 7)")
        parser.add_argument("--seed", type=int, default=builder.DEFAULT_SEED, help="random seed (same seed, same demo)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the organisation already has units")
        parser.add_argument("--quiet", action="store_true", help="no progress lines")

    def handle(self, *args, customers, days, seed, if_empty, quiet, **options):
        if Unit.objects.exists():
            if if_empty:
                if not quiet:
                    self.stdout.write("The organisation already has units; demo not loaded.")
                return
            raise CommandError("The database already has an organisation. Use a fresh database "
                               "(HOTLINE_DATA_DIR or DATABASE_URL), or --if-empty to skip.")
        if customers < 1 or days < 0:
            raise CommandError("--customers must be at least 1 and --days at least 0")
        progress = None if quiet else (lambda message: self.stdout.write(f"  {message}"))
        if not quiet:
            self.stdout.write("Building the demo county center …")
        result = builder.build(customers=customers, days=days, seed=seed, progress=progress)
        states = ", ".join(f"{state} {n}" for state, n in sorted(result.states.items(), key=lambda kv: -kv[1]))
        self.stdout.write(
            f"\nDemo county center ready in {result.seconds:.0f} s: {result.units} units, {result.users} users, "
            f"{result.areas} service areas, {result.customers} customers, {result.orders} work orders "
            f"({states}), {result.warnings} warnings, {result.notices} supervision notices, "
            f"{result.calls} simulated calls.")
        if result.skipped and not quiet:
            self.stdout.write(f"{len(result.skipped)} simulated steps were refused by the services (kept as they stood).")
        self.stdout.write(f"\nOpen {options.get('url') or builder.URL} and sign in with one of these accounts; password: {builder.PASSWORD}\n")
        self.stdout.write(format_logins(result.logins))
