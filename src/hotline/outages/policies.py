"""The outage numbers of the spec an administrator may change (D0a)."""

from django.utils.translation import gettext_lazy as _

from hotline.core import policy

LEAD = "outages.lead_minutes."  # + planned / temporary / grid_fault / over_capacity / change / delay
FREQUENT_COUNT = "outages.frequent_count"
FREQUENT_MONTHS = "outages.frequent_months"
FREQUENT_MIN_MINUTES = "outages.frequent_min_minutes"


def declare() -> None:
    from hotline.outages.leadtimes import DEFAULT_LEAD_MINUTES

    labels = {
        "planned": _("Planned outage published at least this long before the start (minutes, D7b)"),
        "temporary": _("Temporary outage published at least this long before the start (minutes, D7c)"),
        "grid_fault": _("Grid-fault outage published within (minutes after the trip, D7d)"),
        "over_capacity": _("Over-capacity curtailment published within (minutes after it began)"),
        "change": _("A change published within (minutes, D7e)"),
        "delay": _("A delay announced at least this long before the announced end (minutes, D7f)"),
    }
    for key, minutes in DEFAULT_LEAD_MINUTES.items():
        policy.declare(LEAD + key, minutes, labels[key], minimum=0, maximum=60 * 24 * 60, group="outages")
    policy.declare(FREQUENT_COUNT, 3, _("Frequent outage: this many outages of one supply (D7h)"), minimum=1, maximum=50,
                   group="outages")
    policy.declare(FREQUENT_MONTHS, 2, _("Frequent outage: counted over this many months (D7h)"), minimum=1, maximum=24,
                   group="outages")
    policy.declare(FREQUENT_MIN_MINUTES, 3.0, _("Frequent outage: shorter outages (flickers) not counted (minutes, D7h)"),
                   minimum=0, maximum=240, group="outages")
