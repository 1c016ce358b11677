"""The contact-center numbers of the spec an administrator may change (D0a):
declared in ``apps.py``, read with ``core.policy.get``."""

from django.utils.translation import gettext_lazy as _

from hotline.core import policy

SERVICE_LEVEL_SECONDS = "calls.service_level_seconds"
SHORT_ABANDON_SECONDS = "calls.short_abandon_seconds"
RING_LIMIT_SECONDS = "calls.ring_limit_seconds"
RING_LIMIT_RINGS = "calls.ring_limit_rings"
RING_CYCLE_SECONDS = "calls.ring_cycle_seconds"
RING_PASS_BY = "calls.ring_pass_by"
NOT_READY_REASONS = "calls.not_ready_reasons"
NO_ORDER_REASONS = "calls.no_order_reasons"
STALE_WAITING_HOURS = "calls.stale_waiting_hours"
STALE_TALKING_HOURS = "calls.stale_talking_hours"

RING_PASS_CHOICES = ("seconds_or_rings", "seconds_only", "rings_only")


def declare() -> None:
    group = "calls"
    policy.declare(SERVICE_LEVEL_SECONDS, 20, _("Service level: answered within this many seconds (T, C3b)"),
                   minimum=1, maximum=600, group=group)
    policy.declare(SHORT_ABANDON_SECONDS, 5, _("Short abandon: a caller leaving within this many seconds (S, C3w)"),
                   minimum=0, maximum=120, group=group)
    policy.declare(RING_LIMIT_SECONDS, 9.0, _("Ring-time limit in seconds (R, C3g)"), minimum=1, maximum=120,
                   group=group)
    policy.declare(RING_LIMIT_RINGS, 3, _("Ring-time limit in rings (N, C3g)"), minimum=1, maximum=30, group=group)
    policy.declare(RING_CYCLE_SECONDS, 3.0, _("Length of one ring cycle in seconds (rings = ring time ÷ cycle, "
                                              "rounded up, C5d)"), minimum=0.5, maximum=30, group=group)
    policy.declare(RING_PASS_BY, "seconds_or_rings",
                   _("Ring-time pass: seconds_or_rings (within R seconds or N rings), seconds_only or rings_only "
                     "(C3g)"), choices=RING_PASS_CHOICES, group=group)
    # The agent desk's not-ready reasons (desk.services.NOT_READY_LABELS names the known codes).
    policy.declare(NOT_READY_REASONS, "break,meal,meeting,training,coaching,briefing,paperwork,system",
                   _("Not-ready reasons an agent chooses from on the desk, comma-separated: break, meal, meeting, "
                     "training, coaching, briefing, paperwork, system, or a reason of your own in plain words"),
                   kind=str, group=group)

    # Why an answered call needs no order (calls.dispositions.NO_ORDER_LABELS names the known codes, C3y).
    policy.declare(NO_ORDER_REASONS, "wrong_number,silent,hung_up,harassment,test_call,no_request,existing_order",
                   _("Reasons an agent marks an answered call as needing no work order, comma-separated: "
                     "wrong_number, silent, hung_up, harassment, test_call, no_request, existing_order (the call "
                     "is linked to an order already recorded), or a reason of your own in plain words (C3y)"),
                   kind=str, group=group)

    # A call whose end never arrived (the switch lost the event, an adapter
    # was down) stays open: past these, with no event of it, it is stale —
    # not on the wallboard's live figures, still in progress in the KPIs (C5f).
    policy.declare(STALE_WAITING_HOURS, 4.0, _("A call waiting with no event of it for this many hours is stale: the "
                                               "wallboard counts it apart, not as waiting (C5f)"),
                   minimum=0.25, maximum=72, group=group)
    policy.declare(STALE_TALKING_HOURS, 12.0, _("A call connected with no event of it for this many hours is stale: the "
                                                "wallboard counts it apart, not as connected (C5f)"),
                   minimum=0.25, maximum=168, group=group)


def settings_now() -> dict:
    """The values in force, by short name (the KPI functions' defaults)."""
    return {
        "T": policy.get(SERVICE_LEVEL_SECONDS),
        "S": policy.get(SHORT_ABANDON_SECONDS),
        "R": policy.get(RING_LIMIT_SECONDS),
        "N": policy.get(RING_LIMIT_RINGS),
        "ring_cycle": policy.get(RING_CYCLE_SECONDS),
        "ring_pass_by": policy.get(RING_PASS_BY),
    }
