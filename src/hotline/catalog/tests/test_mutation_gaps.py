"""Life-cycle rules that mutation testing (scripts/mutation) showed no test
checked: the §2 life-cycle each kind of default type gets, what a parsed
life-cycle answers, its defaults, and every refusal of a bad life-cycle with
its message in both languages."""

from __future__ import annotations

import pytest
from django.utils import translation

from hotline.catalog import defaults
from hotline.catalog.lifecycle import (
    SYSTEM_EVENTS,
    LifecycleError,
    Transition,
    parse_lifecycle,
    standard_lifecycle,
)
from hotline.catalog.models import BusinessType

C, U, L = "center", "unit", "leader"


def table(lifecycle: dict) -> set[tuple[str, tuple[str, ...], str | None, str]]:
    """A life-cycle's transitions as (action, from, to, by), sources sorted."""
    return {(t["action"], tuple(sorted(t["from"])), t["to"], t["by"]) for t in lifecycle["transitions"]}


# The spec §2 path every type shares (D2a), the unit's return and the
# center's re-dispatch (D2b, D3.5a), contact and progress without a state
# change, review and rework, cancelling until the work is done (D2c), and
# the shift leader's approval of a low-star agent's order (D1q) and reopen
# of a dissatisfied callback or closed order (D6g).
COMMON = {
    ("approve", ("draft",), "accepted", L),
    ("dispatch", ("accepted",), "dispatched", C),
    ("receive", ("dispatched",), "received", U),
    ("return", ("dispatched", "received"), "returned", U),
    ("redispatch", ("returned",), "dispatched", C),
    ("contact", ("on_site", "received"), None, U),
    ("progress", ("on_site", "received", "resolved"), None, U),
    ("review", ("replied",), "reviewed", C),
    ("rework", ("replied",), "received", C),
    ("cancel", ("accepted", "dispatched", "draft", "on_site", "received", "returned"), "cancelled", C),
    ("reopen", ("callback", "closed"), "received", L),
}
ON_SITE = {  # D3.3a, D3.6: the crew goes on site, resolves, then replies
    ("arrive", ("received",), "on_site", U),
    ("resolve", ("on_site",), "resolved", U),
    ("reply", ("resolved",), "replied", U),
}
OFFICE = {("reply", ("received",), "replied", U)}  # a department replies once it has the order
CALLBACK_ALWAYS = {("callback", ("reviewed",), "callback", C), ("close", ("callback",), "closed", C)}
CALLBACK_IF_WANTED = {("callback", ("reviewed",), "callback", C), ("close", ("callback", "reviewed"), "closed", C)}
CALLBACK_NEVER = {("close", ("reviewed",), "closed", C)}
FIELD_PROGRESS = {("locate", ("on_site",), None, U), ("estimate", ("on_site",), None, U)}  # D3.6b
MERGE = {("merge", ("accepted", "dispatched", "on_site", "received", "returned"), "merged", C)}  # D3.4b, D3.4d
ANSWER = {("answer", ("accepted",), "closed", C)}  # D1f: an inquiry answered on the call


@pytest.mark.rule("D2a", "D2b", "D2c", "D3.4b", "D3.4d", "D3.6b", "D6a", "D1f")
@pytest.mark.parametrize("options,expected", [
    ({"on_site": True, "callback": "always", "merge": True, "field_progress": True},
     COMMON | ON_SITE | CALLBACK_ALWAYS | FIELD_PROGRESS | MERGE),
    ({"on_site": True, "callback": "always"}, COMMON | ON_SITE | CALLBACK_ALWAYS),  # no field progress unless asked
    ({"on_site": False, "callback": "always"}, COMMON | OFFICE | CALLBACK_ALWAYS),
    ({"on_site": False, "callback": "if_wanted"}, COMMON | OFFICE | CALLBACK_IF_WANTED),
    ({"on_site": False, "callback": "never"}, COMMON | OFFICE | CALLBACK_NEVER),
    ({"on_site": False, "callback": "always", "answer_on_call": True}, COMMON | OFFICE | CALLBACK_ALWAYS | ANSWER),
    ({"on_site": False, "callback": "never", "field_progress": True}, COMMON | OFFICE | CALLBACK_NEVER),  # only on site
])
def test_the_standard_life_cycle_has_the_spec_transitions_of_its_kind_of_type(options, expected):
    lifecycle = standard_lifecycle(**options)
    assert lifecycle["initial"] == "accepted"
    assert table(lifecycle) == expected
    assert len(lifecycle["transitions"]) == len(expected)  # no transition twice
    parse_lifecycle(lifecycle)  # and it is a valid one


@pytest.mark.rule("D1j", "D3.4d", "D3.6b", "D1f", "D6a")
def test_the_default_types_get_their_kind_of_life_cycle():
    lifecycles = {code: defaults.lifecycle_for(code, callback, options)
                  for code, _n, _p, _pr, _r, _f, callback, *_m, options, _s in defaults.TYPES}
    assert table(lifecycles["repair"]) == COMMON | ON_SITE | CALLBACK_ALWAYS | FIELD_PROGRESS | MERGE
    assert table(lifecycles["service_request"]) == COMMON | ON_SITE | CALLBACK_ALWAYS
    assert table(lifecycles["complaint"]) == COMMON | OFFICE | CALLBACK_ALWAYS
    assert table(lifecycles["report"]) == COMMON | OFFICE | CALLBACK_IF_WANTED
    assert table(lifecycles["inquiry"]) == COMMON | OFFICE | CALLBACK_ALWAYS | ANSWER
    assert table(lifecycles["chase_up"]) == COMMON | OFFICE | CALLBACK_NEVER
    # Only repair reports merge (D3.4d) and report field progress (D3.6).
    assert [code for code, lc in lifecycles.items() if "merge" in parse_lifecycle(lc).actions()] == ["repair"]
    assert [code for code, lc in lifecycles.items() if "locate" in parse_lifecycle(lc).actions()] == ["repair"]


@pytest.mark.django_db
@pytest.mark.rule("D1j", "D0a")
def test_the_installed_catalogue_has_the_life_cycles_a_new_installation_gets():
    # The database's types came through the migrations; a new installation's
    # through install_defaults: the two must agree.
    for code, _n, _p, _pr, _r, _f, callback, *_m, options, _s in defaults.TYPES:
        assert BusinessType.objects.get(code=code).lifecycle == defaults.lifecycle_for(code, callback, options), code


# --- what a parsed life-cycle answers ------------------------------------------------------

LC = {"initial": "draft", "transitions": [
    {"action": "approve", "from": "draft", "to": "accepted", "by": "leader"},
    {"action": "dispatch", "from": ["accepted"], "to": "dispatched"},
    {"action": "contact", "from": ["accepted", "dispatched"], "to": None, "by": "unit"},
    {"action": "reply", "from": ["dispatched"], "to": "closed", "by": "unit"},
    {"action": "reply", "from": ["accepted"], "to": "closed", "by": "center"},  # same action, other source, same target
    {"action": "reopen", "from": ["closed"], "to": "accepted", "by": "leader"},
]}


@pytest.mark.rule("D2a", "D0a")
def test_a_parsed_life_cycle_keeps_its_initial_state_actors_and_defaults():
    lc = parse_lifecycle(LC)
    assert lc.initial == "draft"  # a given initial state is kept
    assert lc.transitions == (
        Transition("approve", frozenset({"draft"}), "accepted", "leader"),  # "from" as one state
        Transition("dispatch", frozenset({"accepted"}), "dispatched", "center"),  # "by" defaults to the center
        Transition("contact", frozenset({"accepted", "dispatched"}), None, "unit"),  # "to": null changes no state
        Transition("reply", frozenset({"dispatched"}), "closed", "unit"),
        Transition("reply", frozenset({"accepted"}), "closed", "center"),
        Transition("reopen", frozenset({"closed"}), "accepted", "leader"),
    )
    assert parse_lifecycle({"transitions": LC["transitions"]}).initial == "accepted"  # the default initial state


@pytest.mark.rule("D2a")
def test_a_life_cycle_finds_the_transition_of_an_action_from_a_state():
    lc = parse_lifecycle(LC)
    assert lc.find("reply", "dispatched") == Transition("reply", frozenset({"dispatched"}), "closed", "unit")
    assert lc.find("reply", "accepted").by == "center"  # the one whose sources hold the state
    assert lc.find("reply", "draft") is None  # a known action, not from this state
    assert lc.find("approve", "accepted") is None
    assert lc.find("warp", "draft") is None
    assert [t.action for t in lc.actions_from("accepted")] == ["dispatch", "contact", "reply"]  # in declared order
    assert [t.action for t in lc.actions_from("closed")] == ["reopen"]
    assert lc.actions_from("cancelled") == []
    assert lc.actions() == {"approve", "dispatch", "contact", "reply", "reopen"}
    assert lc.events() == {"approve", "dispatch", "contact", "reply", "reopen", "create"}
    assert set(SYSTEM_EVENTS) == {"create"}


# --- refusals, each in the user's language ------------------------------------------------

def transitions(*items):
    return {"transitions": list(items)}


OK = {"action": "dispatch", "from": ["accepted"], "to": "dispatched"}

REFUSALS = [
    ("not an object", ["accepted"],
     "the life-cycle must be an object with “initial” and “transitions”", "流程必须是包含“initial”和“transitions”的对象"),
    ("unknown initial", {"initial": "limbo", "transitions": [OK]},
     "unknown initial state “limbo”", "未知的初始状态“limbo”"),
    ("no transitions", {"initial": "accepted"}, "“transitions” must be a non-empty list", "“transitions”必须是非空列表"),
    ("empty transitions", transitions(), "“transitions” must be a non-empty list", "“transitions”必须是非空列表"),
    ("transitions not a list", {"transitions": {"0": OK}}, "“transitions” must be a non-empty list",
     "“transitions”必须是非空列表"),
    ("transition not an object", transitions(OK, "dispatch"), "transition 1 must be an object", "第1条流转必须是对象"),
    ("unknown action", transitions(OK, OK, {"action": "warp", "from": ["accepted"], "to": "closed"}),
     "transition 2: unknown action “warp”", "第2条流转：未知动作“warp”"),
    ("no action", transitions({"from": ["accepted"], "to": "closed"}),
     "transition 0: unknown action “None”", "第0条流转：未知动作“None”"),
    ("no from", transitions(OK, {"action": "receive", "to": "received"}),
     "transition 1: “from” must list known states", "第1条流转：“from”必须列出已知状态"),
    ("empty from", transitions(OK, {"action": "receive", "from": [], "to": "received"}),
     "transition 1: “from” must list known states", "第1条流转：“from”必须列出已知状态"),
    ("one unknown source", transitions(OK, {"action": "receive", "from": ["dispatched", "limbo"], "to": "received"}),
     "transition 1: “from” must list known states", "第1条流转：“from”必须列出已知状态"),
    ("unknown single source", transitions({"action": "receive", "from": "limbo", "to": "received"}),
     "transition 0: “from” must list known states", "第0条流转：“from”必须列出已知状态"),
    ("from not a list", transitions({"action": "receive", "from": {"dispatched": 1}, "to": "received"}),
     "transition 0: “from” must list known states", "第0条流转：“from”必须列出已知状态"),
    ("leaving a terminal state", transitions(OK, {"action": "close", "from": ["reviewed", "closed"], "to": "closed"}),
     "transition 1: only “reopen” may leave a terminal state", "第1条流转：只有“reopen”可以离开终止状态"),
    ("leaving cancelled", transitions({"action": "dispatch", "from": ["cancelled"], "to": "dispatched"}),
     "transition 0: only “reopen” may leave a terminal state", "第0条流转：只有“reopen”可以离开终止状态"),
    ("unknown target", transitions(OK, {"action": "receive", "from": ["dispatched"], "to": "limbo"}),
     "transition 1: unknown target state “limbo”", "第1条流转：未知的目标状态“limbo”"),
    ("unknown actor", transitions(OK, {"action": "receive", "from": ["dispatched"], "to": "received", "by": "robot"}),
     "transition 1: “by” must be one of center, unit, leader", "第1条流转：“by”必须是以下之一：center, unit, leader"),
    ("ambiguous", transitions(
        {"action": "return", "from": ["dispatched", "received", "on_site"], "to": "returned", "by": "unit"},
        {"action": "return", "from": ["accepted", "received", "dispatched"], "to": "accepted", "by": "unit"}),
     "action “return” is ambiguous from dispatched, received", "动作“return”在状态 dispatched, received 下有歧义"),
]


@pytest.mark.rule("N3g", "N1g", "D0a")
@pytest.mark.parametrize("data,english,chinese", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_bad_life_cycle_is_refused_saying_what_is_wrong_in_the_users_language(data, english, chinese):
    with translation.override("en"), pytest.raises(LifecycleError) as en:
        parse_lifecycle(data)
    assert str(en.value) == english
    with translation.override("zh-hans"), pytest.raises(LifecycleError) as zh:
        parse_lifecycle(data)
    assert str(zh.value) == chinese


@pytest.mark.rule("D2a", "D6g")
def test_what_a_valid_life_cycle_may_hold():
    # Only "reopen" leaves a terminal state, from any of them.
    lc = parse_lifecycle(transitions(OK, {"action": "reopen", "from": ["closed", "merged", "cancelled"], "to": "received"}))
    assert lc.find("reopen", "merged").target == "received"
    # An action may lead to one target from several transitions, and to
    # different targets from different states.
    lc = parse_lifecycle(transitions(
        {"action": "rework", "from": ["replied"], "to": "received"},
        {"action": "rework", "from": ["reviewed"], "to": "on_site"},
        {"action": "close", "from": ["reviewed"], "to": "closed"},
        {"action": "close", "from": ["reviewed", "callback"], "to": "closed"}))
    assert (lc.find("rework", "replied").target, lc.find("rework", "reviewed").target) == ("received", "on_site")
    assert lc.find("close", "callback").target == "closed"
    # Every actor and every action of the engine is allowed.
    parse_lifecycle(transitions(*[{"action": "contact", "from": ["accepted"], "to": None, "by": by} for by in (C, U, L)]))
