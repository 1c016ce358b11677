"""Intake classification of a repair report (spec D3.1, D7h, D7k).

Before an agent dispatches a repair, the place the caller reports from is
checked against what the center already knows: published outages covering
it (planned, temporary, a grid fault already announced, curtailment,
marketing disconnections), the customer's arrears disconnection, and the
customer's frequent-outage history. A planned or published outage or an
arrears disconnection is handled as an inquiry (D3.1d): the agent tells the
cause and the expected restoration and records the call as one. The check
proposes; the agent decides; both are recorded on the order's create event.

The outage facts come from the app that owns outages through the core
dispatcher (topic ``intake.facts``), so work orders import no outage code;
each receiver returns a dict with any of ``outages`` (a list of plain
dicts: number, outage_class, class_label, status, status_label, reason,
scope, planned_start, planned_end, areas, marketing) and ``frequent``
(count, threshold, months, flagged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from hotline.core import clock, dispatch
from hotline.organisation.models import Customer, SpecialMark

TOPIC = "intake.facts"
INQUIRY = "inquiry"
# An arrears disconnection published as an outage is the customer's own
# arrears only when it names their place; a caller's own mark says so too.
ARREARS_CLASS = "arrears"


@dataclass
class IntakeCheck:
    outages: list[dict] = field(default_factory=list)
    arrears: bool = False
    frequent: dict | None = None
    proposal: str = ""  # "inquiry" or "" (dispatch as the agent classifies)
    proposed_scope: str = ""  # the fault scope that records it so
    reasons: list[str] = field(default_factory=list)

    @property
    def expected_restoration(self) -> dt.datetime | None:
        ends = [o["planned_end"] for o in self.outages if o.get("planned_end")]
        return max(ends) if ends else None

    def payload(self) -> dict:
        """What the create event keeps: numbers and codes, no texts."""
        out: dict = {"proposal": self.proposal, "reasons": list(self.reasons)}
        if self.outages:
            out["outages"] = [o["number"] for o in self.outages]
        if self.arrears:
            out["arrears"] = True
        if self.frequent:
            out["frequent_outages"] = self.frequent.get("count", 0)
        return out


def check(*, service_area_id: int | None, customer: Customer | None, at: dt.datetime | None = None) -> IntakeCheck:
    at = at or clock.now()
    area_id = service_area_id or (customer.service_area_id if customer is not None else None)
    result = IntakeCheck()
    for facts in dispatch.publish(TOPIC, service_area_id=area_id, customer=customer, at=at):
        if not facts:
            continue
        result.outages += facts.get("outages", [])
        if facts.get("frequent"):
            result.frequent = facts["frequent"]
    if customer is not None and customer.special_mark == SpecialMark.ARREARS:
        result.arrears = True
    if any(o.get("outage_class") == ARREARS_CLASS for o in result.outages):
        result.arrears = True
    covering = [o for o in result.outages if o.get("outage_class") != ARREARS_CLASS]
    if covering:
        result.proposal, result.proposed_scope = INQUIRY, "planned_outage"
        result.reasons.append("published_outage")
    if result.arrears:
        if not covering:
            result.proposal, result.proposed_scope = INQUIRY, "arrears"
        result.reasons.append("arrears")
    if result.frequent and result.frequent.get("flagged"):
        result.reasons.append("frequent_outage")
    return result


def decision(check_: IntakeCheck, fault_scope: str) -> str:
    """How the agent decided: ``followed`` the proposal, ``overridden`` it
    (dispatched although an outage covers the place), or ``none`` proposed."""
    if not check_.proposal:
        return "none"
    return "followed" if fault_scope in ("planned_outage", "arrears") else "overridden"


REASON_TEXTS = {
    "published_outage": lambda: _("a published outage covers this place"),
    "arrears": lambda: _("the customer is disconnected for arrears"),
    "frequent_outage": lambda: _("frequent outages at this place"),
}
