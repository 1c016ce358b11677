"""The daily report's targets and schedule, policy settings an
administrator edits in the admin (D0a, C4d, C4e).

Each target is in the metric's own unit as the report shows it: percent
for rates, complaints per million customers, seconds. ``min`` targets
flag a value below them, ``max`` targets a value above. The answer rate
and service level share the wallboard's targets (``calls``), so a center
has one number for each. Defaults: the "six 100%" [000] (ring-time pass,
callbacks, complaint timeliness, supervision, work-order correctness,
outage publication), the 1-in-100,000 aims of [000] for complaints,
omissions and dissatisfaction (D15c), the 3-minute inquiry [004 §21],
restoration as committed."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from hotline.core import policy

TARGET = "reports.target."
DAILY_HOUR = "reports.daily_report_hour"
DAILY_CHANNEL = "reports.daily_report_channel"
DAILY_EXTRA = "reports.daily_report_extra_recipients"


@dataclass(frozen=True)
class Target:
    key: str
    direction: str  # "min": flagged below; "max": flagged above
    default: float
    label: object


TARGETS = (
    Target("ring_pass_rate", "min", 100.0, _("Daily report: ring-time pass rate target, percent (C3g)")),
    Target("satisfaction", "min", 99.999, _("Daily report: satisfaction target, percent (C3i; dissatisfaction "
                                            "below 1 in 100,000)")),
    Target("avg_inquiry_talk_s", "max", 180.0, _("Daily report: longest average inquiry time, seconds (C3f)")),
    Target("complaints_per_million_customers", "max", 10.0,
           _("Daily report: most complaints per million customers (C3j)")),
    Target("callback_rate", "min", 100.0, _("Daily report: callback rate target, percent (C3k)")),
    Target("complaint_timeliness", "min", 100.0, _("Daily report: complaint timeliness target, percent (C3l)")),
    Target("supervision_rate", "min", 100.0, _("Daily report: supervision rate target, percent (C3m)")),
    Target("work_order_correctness", "min", 100.0, _("Daily report: work-order correctness target, percent (C3n)")),
    Target("outage_publication_timeliness", "min", 100.0,
           _("Daily report: outage-publication timeliness target, percent (C3o)")),
    Target("dispatch_accuracy", "min", 100.0, _("Daily report: dispatch accuracy target, percent (C3p)")),
    Target("complaints_per_answered_call", "max", 0.001,
           _("Daily report: most complaints per answered call, percent (C3s; 1 in 100,000)")),
    Target("restoration_within_commitment", "min", 100.0,
           _("Daily report: restoration within commitment target, percent (C3t)")),
    Target("omission_rate", "max", 0.001, _("Daily report: highest omission rate, percent (C3y; 1 in 100,000)")),
)
BY_KEY = {t.key: t for t in TARGETS}


def declare() -> None:
    group = "reports"
    for t in TARGETS:
        policy.declare(TARGET + t.key, t.default, t.label, kind=float, minimum=0, group=group)
    # 24: never (no bool setting: the policy list would show its default untranslated).
    policy.declare(DAILY_HOUR, 7, _("Daily report: hour of the day (center's time) from which yesterday's report "
                                    "is mailed; 24: not mailed"), minimum=0, maximum=24, group=group)
    policy.declare(DAILY_CHANNEL, "email", _("Daily report: outbox channel of the mail (email, or file for a demo)"),
                   kind=str, group=group)
    policy.declare(DAILY_EXTRA, "", _("Daily report: more recipients' e-mail addresses, comma-separated (beside "
                                      "the directors and shift leaders of each center with an address)"),
                   kind=str, group=group)


def target(key: str) -> tuple[float | None, str]:
    """(target, direction) of a metric in force; (None, "") when it has none."""
    from hotline.calls import wallboard

    if key == "answer_rate":
        return policy.get(wallboard.ANSWER_RATE_TARGET), "min"
    if key == "service_level":
        return policy.get(wallboard.SERVICE_LEVEL_TARGET), "min"
    t = BY_KEY.get(key)
    if t is None:
        return None, ""
    return policy.get(TARGET + key), t.direction
