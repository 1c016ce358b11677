"""The work-order numbers of the spec an administrator may change (D0a);
declared in ``apps.py``, read with ``core.policy.get``. The time limits
themselves are the catalog's versioned policies."""

from django.utils.translation import gettext_lazy as _

from hotline.core import policy

MERGE_WINDOW_HOURS = "workorders.merge_window_hours"
MERGE_FAULT_POINT = "workorders.merge_fault_point"
RETURN_GUARD_MINUTES = "workorders.return_guard_minutes"
FIELD_RECORD_MINUTES = "workorders.field_record_minutes"
CHASE_SPACING_MINUTES = "workorders.chase_spacing_minutes"
CHASE_MAX_NON_REPAIR = "workorders.chase_max_non_repair"
REVIEW_STARS = "workorders.review_stars"
CONTACT_LINK_HOURS = "workorders.contact_link_hours"
CONTACT_OPEN_HOURS = "workorders.contact_open_hours"


def declare() -> None:
    group = "workorders"
    policy.declare(MERGE_WINDOW_HOURS, 24.0, _("Duplicate reports: how far back open repair orders are compared (hours, D3.4)"),
                   minimum=1, maximum=24 * 14, setting="MERGE_WINDOW_HOURS", group=group)
    policy.declare(MERGE_FAULT_POINT, "transformer_area", _("Duplicate reports: the fault point two reports must share (D3.4d)"),
                   choices=("transformer_area", "village"), setting="MERGE_FAULT_POINT", group=group)
    policy.declare(RETURN_GUARD_MINUTES, 10, _("No return of an order dispatched this many minutes after a matching fault notice (D3.5c)"),
                   minimum=0, maximum=240, setting="RETURN_GUARD_AFTER_FAULT_NOTICE_MINUTES", group=group)
    policy.declare(FIELD_RECORD_MINUTES, 5, _("Arrival and completion recorded within (minutes, D3.6a/d)"),
                   minimum=1, maximum=120, setting="FIELD_RECORD_MINUTES", group=group)
    policy.declare(CHASE_SPACING_MINUTES, 5, _("Chase-ups of one customer at least this many minutes apart (D1h)"),
                   minimum=0, maximum=240, group=group)
    policy.declare(CHASE_MAX_NON_REPAIR, 2, _("Chase-ups per non-repair order at most (D1h)"), minimum=1, maximum=20,
                   group=group)
    policy.declare(REVIEW_STARS, 3, _("Orders of agents with this many stars or fewer are reviewed before dispatch (D1q)"),
                   minimum=0, maximum=5, setting="REVIEW_STARS", group=group)
    # C2c: an agent links orders to their own current or recent call only.
    policy.declare(CONTACT_LINK_HOURS, 2.0, _("Orders link to the agent's own call until this many hours after it "
                                              "ended (after-call work, C2c)"), minimum=0, maximum=72, group=group)
    policy.declare(CONTACT_OPEN_HOURS, 12.0, _("A call whose end never arrived counts as the agent's current call "
                                               "this many hours after it began (C2c)"), minimum=1, maximum=72,
                   group=group)
