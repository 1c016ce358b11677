"""Display names for codes that the domain stores as plain strings
(actions, event kinds, outcomes), so every page says them the same way."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hotline.catalog.lifecycle import ACTION_LABELS
from hotline.catalog.models import Metric
from hotline.timelimits.models import ClockStatus, NoticeKind
from hotline.workorders.models import FaultScope, State

ACTIONS = ACTION_LABELS

# Event kinds that are not actions.
EVENTS = {
    **ACTIONS,
    "create": _("Intake"),
    "chased": _("Chased up"),
    "notice_answer": _("Supervision answered"),
    "master_reply": _("Master order replied"),
    "master_resolve": _("Master order resolved"),
    "master_close": _("Master order archived"),
    "master_cancel": _("Master order cancelled"),
    "restoration": _("Power restored (master order)"),
    "escalation": _("Supervision escalated"),
    "reminder": _("Manual reminder"),
    "remerge": _("Moved to a new master order"),
    "merged_in": _("Duplicate merged in"),
    "call_linked": _("Call about this order"),
    "sub_unmerged": _("Sub-order unmerged"),
    NoticeKind.WARNING: NoticeKind.WARNING.label,
    NoticeKind.SUPERVISION: NoticeKind.SUPERVISION.label,
    NoticeKind.MANUAL: NoticeKind.MANUAL.label,
}

OUTCOMES = {
    "satisfied": _("Satisfied"),
    "basically_satisfied": _("Basically satisfied"),
    "dissatisfied": _("Dissatisfied"),
    "unreachable": _("Unreachable"),
    "not_rated": _("Not rated (customer's own assets)"),
}

# The only reasons a repair order may be returned (spec §3.5).
REPAIR_RETURN_REASONS = {
    "outside_area": _("Outside our area"),
    "missing_information": _("Key information missing"),
}

# Why an open repair order is proposed as the master of a new report (D3.4e).
DUPLICATE_REASONS = {
    "same_fault_point": _("same transformer area"),
    "same_line": _("same line"),
    "same_village": _("same village"),
    "same_fault_class": _("same fault class"),
    "same_cause": _("same cause"),
    "similar_phenomenon": _("similar phenomenon"),
    "close_in_time": _("reported shortly before"),
}
# Why a customer came up in the intake lookup (selectors.lookup_customers).
CUSTOMER_MATCHES = {
    "phone": _("phone number"),
    "phone_tail": _("phone ending"),
    "account": _("account number"),
    "name": _("customer name"),
    "address": _("address"),
}
STATES = dict(State.choices)
METRICS = dict(Metric.choices)
CLOCK_STATUSES = dict(ClockStatus.choices)
FAULT_SCOPES = [(value, label) for value, label in FaultScope.choices if value]

# Payload keys worth showing in the timeline, in this order.
PAYLOAD_FIELDS = [
    ("unit", _("unit")),
    ("previous_unit", _("previous unit")),
    ("reason", _("reason")),
    ("note", _("note")),
    ("outcome", _("outcome")),
    ("master", _("master order")),
    ("chase_up", _("chase-up order")),
    ("chases", _("chases")),
    ("recorded_as", _("recorded as")),
    ("fault_scope", _("fault scope")),
    ("level", _("level")),
    ("metric", _("time limit")),
    ("answer", _("answer")),
    ("reported_at", _("reported time")),
]


def label(mapping: dict, code: str) -> str:
    return str(mapping.get(code, code))
