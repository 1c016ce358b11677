"""Life-cycles as data.

A business type's ``lifecycle`` is ``{"initial": state, "transitions": [...]}``
where each transition is ``{"action", "from": [states], "to": state | null,
"by": "center" | "unit" | "leader"}``. ``to: null`` records an event without
changing state (contact the customer, progress report). Actions with side
effects (dispatch routes the order, merge links a master) are implemented
once in ``workorders.services``; the data decides where they are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

STATES = (
    "draft", "accepted", "dispatched", "received", "on_site", "resolved", "replied",
    "reviewed", "callback", "closed", "merged", "returned", "cancelled",
)
TERMINAL_STATES = frozenset({"closed", "merged", "cancelled"})
ACTIONS = (
    "approve", "dispatch", "receive", "return", "redispatch", "arrive", "resolve", "reply",
    "review", "rework", "callback", "close", "cancel", "merge", "contact", "progress", "answer", "reopen",
    "locate", "estimate",
)
# Display names of the actions, for pages and for the services' messages.
ACTION_LABELS = {
    "approve": _("Approve"),
    "dispatch": _("Dispatch"),
    "receive": _("Receive"),
    "return": _("Return"),
    "redispatch": _("Re-dispatch"),
    "arrive": _("On site"),
    "resolve": _("Resolved"),
    "reply": _("Reply"),
    "review": _("Review"),
    "rework": _("Send back for rework"),
    "callback": _("Callback"),
    "close": _("Archive"),
    "cancel": _("Cancel order"),
    "merge": _("Merge"),
    "contact": _("Customer contacted"),
    "progress": _("Progress report"),
    "locate": _("Fault point found"),
    "estimate": _("Estimated restoration"),
    "answer": _("Answered on the call"),
    "reopen": _("Reopen"),
    "unmerge": _("Unmerge"),
}
# Events the engine records itself, not actions of a life-cycle: a time-limit
# rule may start or stop on these as well as on the type's actions.
SYSTEM_EVENTS = ("create",)
ACTORS = ("center", "unit", "leader")
# Actions that need a reason in the payload.
REASON_REQUIRED = frozenset({"return", "cancel", "rework", "reopen"})


class LifecycleError(ValueError):
    """An invalid life-cycle; the message is translated when raised."""


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None
    by: str


@dataclass(frozen=True)
class Lifecycle:
    initial: str
    transitions: tuple[Transition, ...]

    def find(self, action: str, state: str) -> Transition | None:
        for t in self.transitions:
            if t.action == action and state in t.sources:
                return t
        return None

    def actions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def actions(self) -> frozenset[str]:
        return frozenset(t.action for t in self.transitions)

    def events(self) -> frozenset[str]:
        """What a time-limit rule of this type may start or stop on."""
        return self.actions() | frozenset(SYSTEM_EVENTS)


def parse_lifecycle(data: object) -> Lifecycle:
    # Messages are translated at the raise (gettext, named placeholders): in
    # the admin the user's language is active.
    _g = gettext
    if not isinstance(data, dict):
        raise LifecycleError(_g("the life-cycle must be an object with “initial” and “transitions”"))
    initial = data.get("initial", "accepted")
    if initial not in STATES:
        raise LifecycleError(_g("unknown initial state “%(state)s”") % {"state": initial})
    raw = data.get("transitions")
    if not isinstance(raw, list) or not raw:
        raise LifecycleError(_g("“transitions” must be a non-empty list"))
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise LifecycleError(_g("transition %(index)d must be an object") % {"index": i})
        action, sources, target, by = item.get("action"), item.get("from"), item.get("to"), item.get("by", "center")
        if action not in ACTIONS:
            raise LifecycleError(_g("transition %(index)d: unknown action “%(action)s”") % {"index": i, "action": action})
        if isinstance(sources, str):
            sources = [sources]
        if not isinstance(sources, list) or not sources or any(s not in STATES for s in sources):
            raise LifecycleError(_g("transition %(index)d: “from” must list known states") % {"index": i})
        if any(s in TERMINAL_STATES for s in sources) and action != "reopen":
            raise LifecycleError(_g("transition %(index)d: only “reopen” may leave a terminal state") % {"index": i})
        if target is not None and target not in STATES:
            raise LifecycleError(_g("transition %(index)d: unknown target state “%(state)s”") % {"index": i, "state": target})
        if by not in ACTORS:
            raise LifecycleError(_g("transition %(index)d: “by” must be one of %(actors)s") % {
                "index": i, "actors": ", ".join(ACTORS)})
        out.append(Transition(action, frozenset(sources), target, by))
    for t in out:
        for other in out:
            if other is not t and other.action == t.action and other.sources & t.sources and other.target != t.target:
                raise LifecycleError(_g("action “%(action)s” is ambiguous from %(states)s") % {
                    "action": t.action, "states": ", ".join(sorted(other.sources & t.sources))})
    return Lifecycle(initial, tuple(out))


OPEN = ["accepted", "dispatched", "received", "on_site", "resolved", "replied", "reviewed", "callback", "returned", "draft"]


def _t(action, sources, target, by="center"):
    return {"action": action, "from": sources, "to": target, "by": by}


def standard_lifecycle(*, on_site: bool, callback: str, answer_on_call: bool = False, merge: bool = False,
                       field_progress: bool = False) -> dict:
    """The spec §2 life-cycle; types skip the states they do not use.
    ``field_progress`` (repairs, D3.6): on site the crew reports the fault
    point found and the estimated restoration time."""
    transitions = [
        _t("approve", ["draft"], "accepted", "leader"),
        _t("dispatch", ["accepted"], "dispatched"),
        _t("receive", ["dispatched"], "received", "unit"),
        _t("return", ["dispatched", "received"], "returned", "unit"),
        _t("redispatch", ["returned"], "dispatched"),
        _t("contact", ["received", "on_site"], None, "unit"),
        _t("progress", ["received", "on_site", "resolved"], None, "unit"),
    ]
    if on_site:
        transitions += [_t("arrive", ["received"], "on_site", "unit"), _t("resolve", ["on_site"], "resolved", "unit"),
                        _t("reply", ["resolved"], "replied", "unit")]
        if field_progress:
            transitions += [_t("locate", ["on_site"], None, "unit"), _t("estimate", ["on_site"], None, "unit")]
    else:
        transitions += [_t("reply", ["received"], "replied", "unit")]
    transitions += [
        _t("review", ["replied"], "reviewed"),
        _t("rework", ["replied"], "received"),
    ]
    # callback: "always" | "if_wanted" | "never"
    if callback == "always":
        transitions += [_t("callback", ["reviewed"], "callback"), _t("close", ["callback"], "closed")]
    elif callback == "if_wanted":
        transitions += [_t("callback", ["reviewed"], "callback"), _t("close", ["reviewed", "callback"], "closed")]
    else:
        transitions += [_t("close", ["reviewed"], "closed")]
    if answer_on_call:
        transitions.append(_t("answer", ["accepted"], "closed"))
    if merge:
        transitions.append(_t("merge", ["accepted", "dispatched", "received", "on_site", "returned"], "merged"))
    transitions.append(_t("cancel", ["draft", "accepted", "dispatched", "received", "on_site", "returned"], "cancelled"))
    # A dissatisfied callback (or a complaint about a closed order) reopens it.
    transitions.append(_t("reopen", ["callback", "closed"], "received", "leader"))
    return {"initial": "accepted", "transitions": transitions}
