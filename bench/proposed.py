"""Proposed product changes, applied as monkeypatches for a before/after run.

NOT product code: the benchmark owner cannot edit ``src/``. These patches
show the effect of the changes recommended in docs/benchmarks.md; run with

    .venv/bin/python bench/workorders_bench.py --proposed ...

which starts ``python bench/proposed.py serve|worker …`` instead of
``hotline serve|worker``. Each patch mirrors a precise edit:

1. ``workorders.services`` — the per-day order-number counter row is locked
   from the first statement of ``_create`` to COMMIT, so every create of the
   same prefix (GZ = repairs, half of all orders) is serialised behind the
   whole transaction. Allocate the number *last* (insert with a provisional
   value, take the counter with one ``INSERT … ON CONFLICT DO UPDATE …
   RETURNING`` just before COMMIT). Still gapless.
2. ``timelimits.services.sweep_once`` — one compare-and-set UPDATE per clock
   becomes one ``UPDATE … FROM (VALUES …) … RETURNING id`` per batch.
3. ``core/management/commands/worker.py`` — an idle worker sleeps until the
   next ``next_check_at`` (capped at the interval) instead of a fixed
   interval, so a breach is handled at its instant, not up to 2 s later.
"""

from __future__ import annotations

import os
import sys
import threading
import time as _time
import uuid


def apply() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from hotline.timelimits import services as tl
    from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
    from hotline.organisation.models import Unit
    from hotline.workorders import services as wo
    from hotline.workorders.models import WorkOrder

    # 1. late, single-statement number allocation
    tls = threading.local()

    def take_number(prefix, when):
        day = timezone.localtime(when).strftime("%y%m%d")
        key = f"{prefix}{day}"
        with connection.cursor() as cur:
            cur.execute("INSERT INTO workorders_numbercounter (key, last) VALUES (%s, 1) ON CONFLICT (key) "
                        "DO UPDATE SET last = workorders_numbercounter.last + 1 RETURNING last", [key])
            last = cur.fetchone()[0]
        return f"{key}{last:05d}"

    def _next_number(prefix, when):
        if getattr(tls, "defer", False):
            tls.pending = (prefix, when)
            return "~" + uuid.uuid4().hex[:20]
        return take_number(prefix, when)

    orig_create = wo._create

    def _create(*, actor, intake):
        tls.defer, tls.pending = True, None
        try:
            order = orig_create(actor=actor, intake=intake)
        finally:
            tls.defer = False
        if tls.pending and order.number.startswith("~"):
            order.number = take_number(*tls.pending)
            WorkOrder.objects.filter(pk=order.pk).update(number=order.number)
        return order

    wo._next_number = _next_number
    wo._create = _create

    # 2. one UPDATE per sweep batch
    def sweep_once(*, now=None, batch=500):
        now = now or tl.hclock.now()
        result = tl.SweepResult()
        with transaction.atomic():
            qs = Clock.objects.filter(next_check_at__lte=now, status=ClockStatus.RUNNING).order_by("next_check_at")
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            clocks = list(qs[:batch])
            if not clocks:
                return result
            unit_ids = {c.responsible_unit_id for c in clocks if c.responsible_unit_id}
            units = {u.id: u for u in Unit.objects.filter(id__in=unit_ids)}
            planned = {}
            rows = []
            for clk in clocks:
                notices, stage, next_check = tl._plan(clk, now, units)
                planned[clk.pk] = notices
                rows.append((clk.pk, clk.stage, stage, next_check))
            values = ", ".join(["(%s::bigint, %s::int, %s::int, %s::timestamptz)"] * len(rows))
            params = [x for row in rows for x in row]
            with connection.cursor() as cur:
                cur.execute(f"""UPDATE timelimits_clock AS c SET stage = v.stage, next_check_at = v.next_check
                                FROM (VALUES {values}) AS v(id, old_stage, stage, next_check)
                                WHERE c.id = v.id AND c.stage = v.old_stage AND c.status = 'running' RETURNING c.id""", params)
                changed = [r[0] for r in cur.fetchall()]
            to_create = [n for pk in changed for n in planned[pk]]
            result.clocks = len(changed)
            if to_create:
                Notice.objects.bulk_create(to_create, ignore_conflicts=True, batch_size=1000)
                result.warnings = sum(1 for n in to_create if n.kind == NoticeKind.WARNING)
                result.notices = sum(1 for n in to_create if n.kind == NoticeKind.SUPERVISION)
        return result

    tl.sweep_once = sweep_once

    # 3. idle worker sleeps until the next due check
    from hotline.core.management.commands import worker as worker_cmd

    class SmartTime:
        monotonic = staticmethod(_time.monotonic)

        @staticmethod
        def sleep(interval):
            from django.db.models import Min

            nxt = Clock.objects.filter(status=ClockStatus.RUNNING, next_check_at__isnull=False).aggregate(m=Min("next_check_at"))["m"]
            wait = interval
            if nxt is not None:
                wait = min(interval, max(0.05, (nxt - tl.hclock.now()).total_seconds()))
            _time.sleep(wait)

    worker_cmd.time = SmartTime


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    import django

    django.setup()
    apply()
    from django.core.management import call_command

    cmd, *rest = sys.argv[1:]
    if cmd == "serve":
        from waitress import serve

        from hotline.wsgi import application

        port = int(rest[rest.index("--port") + 1])
        serve(application, host="127.0.0.1", port=port, threads=8, ident="hotline", channel_timeout=120)
    else:
        call_command(cmd, *rest)


if __name__ == "__main__":
    main()
