"""The daily report sent by mail every morning (C4e), through the outbox:
one message per center, day and recipient, its de-duplication key
``reports:daily:<center>:<day>:<address>`` making it exactly once however
often the task runs and however many workers run it."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline.core import clock, outbox, policy
from hotline.core.models import OutboxMessage
from hotline.organisation.models import Role, Unit, UnitKind, User
from hotline.reports import exports, policies, selectors

log = logging.getLogger(__name__)
RECIPIENT_ROLES = (Role.DIRECTOR, Role.SHIFT_LEADER)
SOURCE = "reports.daily"


def dedup_key(center: Unit, day: dt.date, address: str) -> str:
    return f"reports:daily:{center.pk}:{day.isoformat()}:{address}"


def recipients(center: Unit) -> list[str]:
    """The center's directors and shift leaders with an e-mail address (and
    those of the units above it: a county's director), then the extra
    addresses of the policy; each address once, lower-case."""
    ancestors = [int(x) for x in center.path.strip("/").split("/") if x]
    users = User.objects.filter(is_active=True, role__in=RECIPIENT_ROLES).exclude(email="").filter(
        unit__path__startswith=center.path) | User.objects.filter(
        is_active=True, role=Role.DIRECTOR, unit_id__in=ancestors).exclude(email="")
    out: list[str] = []
    extra = [a.strip() for a in str(policy.get(policies.DAILY_EXTRA)).split(",")]
    for address in [*users.order_by("pk").values_list("email", flat=True), *extra]:
        address = (address or "").strip().lower()
        try:
            validate_email(address)
        except ValidationError:
            continue
        if address not in out:
            out.append(address)
    return out


def mail(report: selectors.DailyReport) -> dict:
    """The mail's payload: subject, a plain-text summary and the report as HTML."""
    subject = exports.title(report)
    lines = [subject, ""]
    for m in report.center_metrics:
        lines.append(f"{m.label}：{m.text}" + (f"（{_('Target')} {m.target_text}，{_('Below target')}）"
                                                 if m.flagged else ""))
    lines += ["", _("Overdue orders: %(count)d") % {"count": report.overdue_count},
              _("Callbacks due: %(due)d, called back in limit: %(kept)d") % report.callbacks]
    html = render_to_string("reports/_daily_mail.html", {"r": report, "subject": subject})
    return {"subject": subject, "body": "\n".join(lines), "html": html}


def send_daily(center: Unit, day: dt.date) -> int:
    """Enqueue ``day``'s report of ``center`` to each recipient not sent it
    yet; returns how many messages were new. The report is built only when
    someone is still owed it."""
    addresses = recipients(center)
    keys = {a: dedup_key(center, day, a) for a in addresses}
    done = set(OutboxMessage.objects.filter(dedup_key__in=list(keys.values())).values_list("dedup_key", flat=True))
    owed = [a for a in addresses if keys[a] not in done]
    if not owed:
        return 0
    with translation.override("zh-hans"):
        payload = mail(selectors.daily_report(center, day))
    channel = str(policy.get(policies.DAILY_CHANNEL))
    with transaction.atomic():
        return outbox.enqueue_many([{"channel": channel, "recipient": a, "payload": payload, "dedup_key": keys[a]}
                                    for a in owed], source=SOURCE)


def send_due(now: dt.datetime | None = None) -> int:
    """Every center's report of yesterday, once the morning's hour has come."""
    now = now or clock.now()
    local = timezone.localtime(now)
    if local.hour < int(policy.get(policies.DAILY_HOUR)):  # 24: never
        return 0
    day = local.date() - dt.timedelta(days=1)
    sent = 0
    for center in Unit.objects.filter(kind=UnitKind.CENTER, active=True).order_by("pk"):
        try:
            sent += send_daily(center, day)
        except Exception:  # one center's failure must not keep the others' reports back
            log.exception("daily report of %s for %s", center.code, day)
    return sent


def daily_task(ctx) -> float | None:
    """The ``reports.daily`` periodic task."""
    send_due()
    return None
