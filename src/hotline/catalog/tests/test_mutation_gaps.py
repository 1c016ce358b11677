"""Life-cycle rules that mutation testing (scripts/mutation) showed no test
checked: the §2 life-cycle each kind of default type gets, what a parsed
life-cycle answers, its defaults, and every refusal of a bad life-cycle with
its message in both languages; and what the catalogue's reads
(catalog/selectors.py) answer and how long they keep it."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.utils import translation

from hotline.catalog import defaults, selectors, services
from hotline.catalog.lifecycle import (
    SYSTEM_EVENTS,
    LifecycleError,
    Transition,
    parse_lifecycle,
    standard_lifecycle,
)
from hotline.catalog.models import BusinessType, HandlingField, SubClass, TimeLimitRule
from hotline.core import cache

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


# --- the catalogue's reads (catalog/selectors.py) and what they keep ------------------------
#
# Every configuration save bumps the cache's generation and empties it
# (hotline.core.cache), so these tests make their rows first and read
# afterwards: two reads with no save between must still get each its own
# answer. An edit that bypasses the signals (a queryset update, raw SQL) is
# seen once the entry's TTL_SECONDS are over, except in what never changes.

def new_type(code: str, *, active: bool = True, lifecycle: dict | None = None) -> BusinessType:
    return BusinessType.objects.create(code=code, name=code, number_prefix="T", active=active,
                                       lifecycle=lifecycle or standard_lifecycle(on_site=False, callback="never"))


@pytest.fixture
def later(monkeypatch):
    """Moves the configuration cache's clock (it reads time.monotonic) on."""
    shift = [0.0]
    monkeypatch.setattr(cache, "time", SimpleNamespace(monotonic=lambda: time.monotonic() + shift[0]))

    def advance(seconds: float) -> None:
        shift[0] += seconds
    return advance


@pytest.mark.django_db
@pytest.mark.rule("D1j", "D0a")
def test_a_business_type_and_its_sub_classes_are_found_by_code_only_while_active():
    alpha, beta, old = new_type("alpha"), new_type("beta"), new_type("old", active=False)
    top = SubClass.objects.create(business_type=alpha, code="top", name="顶")
    a_x = SubClass.objects.create(business_type=alpha, code="x", name="甲", parent=top)
    b_x = SubClass.objects.create(business_type=beta, code="x", name="乙")  # the same code under another type
    SubClass.objects.create(business_type=beta, code="gone", name="停用", active=False)
    SubClass.objects.create(business_type=old, code="gone", name="停用", active=False)

    assert selectors.business_type("alpha") == alpha
    assert selectors.business_type("beta") == beta
    assert selectors.business_type("old") is None  # an inactive type takes no new orders
    assert selectors.business_type("nothing") is None
    assert selectors.sub_class(alpha.pk, "x") == a_x
    assert selectors.sub_class(beta.pk, "x") == b_x
    assert selectors.sub_class(alpha.pk, "top") == top
    assert selectors.sub_class(beta.pk, "top") is None  # another type's sub-class
    assert selectors.sub_class(beta.pk, "gone") is None  # an inactive one
    assert selectors.has_sub_classes(alpha.pk) is True
    assert selectors.has_sub_classes(beta.pk) is True
    assert selectors.has_sub_classes(old.pk) is False  # only inactive ones


@pytest.mark.django_db
@pytest.mark.rule("D1j")
def test_a_sub_class_comes_with_its_parent(django_assert_num_queries):
    alpha = new_type("alpha")
    top = SubClass.objects.create(business_type=alpha, code="top", name="顶")
    SubClass.objects.create(business_type=alpha, code="x", name="甲", parent=top)
    found = selectors.sub_class(alpha.pk, "x")
    with django_assert_num_queries(0):  # the lineage every new order's limits walk
        assert found.parent == top and found.lineage_ids() == [found.pk, top.pk]


@pytest.mark.django_db
@pytest.mark.rule("D0a", "D3.3b")
def test_a_types_handling_record_items_come_by_action_then_sort_order_and_only_the_active_ones():
    alpha, beta = new_type("alpha"), new_type("beta")

    def item(bt, code, action, sort_order, active=True):
        return HandlingField.objects.create(business_type=bt, code=code, label=code, action=action,
                                            sort_order=sort_order, active=active)
    late = item(alpha, "late", "reply", 2)
    early = item(alpha, "early", "reply", 1)
    cause = item(alpha, "cause", "resolve", 0)
    tie = item(alpha, "tie", "resolve", 0)  # the same sort order: in the order made
    item(alpha, "dropped", "reply", 0, active=False)
    other = item(beta, "other", "reply", 0)

    assert selectors.handling_fields(alpha.pk) == [early, late, cause, tie]  # "reply" before "resolve"
    assert selectors.handling_fields(alpha.pk, "reply") == [early, late]
    assert selectors.handling_fields(alpha.pk, "resolve") == [cause, tie]
    assert selectors.handling_fields(beta.pk) == [other]
    assert selectors.handling_fields(beta.pk, "resolve") == []


@pytest.mark.django_db
@pytest.mark.rule("D2a", "D0b")
def test_each_type_gets_its_own_life_cycle_and_a_changed_one_a_new_parse_and_version():
    office = standard_lifecycle(on_site=False, callback="never")
    site = standard_lifecycle(on_site=True, callback="always")
    alpha, beta = new_type("alpha", lifecycle=office), new_type("beta", lifecycle=site)
    a1, b1 = selectors.current_lifecycle_version(alpha), selectors.current_lifecycle_version(beta)  # recorded here
    assert (a1.business_type, a1.number, a1.definition) == (alpha, 1, office)
    assert (b1.business_type, b1.number, b1.definition) == (beta, 1, site)
    # Read again with no save between: from the cache, each its own.
    assert (selectors.current_lifecycle_version(alpha), selectors.current_lifecycle_version(beta)) == (a1, b1)
    assert "arrive" not in selectors.lifecycle(alpha).actions()
    assert "arrive" in selectors.lifecycle(beta).actions()

    # The life-cycle changed some way the signals do not see (a shell, a
    # script): the type as read now has a new parse and a new version.
    BusinessType.objects.filter(pk=alpha.pk).update(lifecycle=site)
    alpha = BusinessType.objects.get(pk=alpha.pk)
    assert "arrive" in selectors.lifecycle(alpha).actions()
    a2 = selectors.current_lifecycle_version(alpha)
    assert (a2.number, a2.definition) == (2, site)
    # Recorded versions are read each as it was, one after the other.
    assert "arrive" not in selectors.lifecycle_of_version(a1.pk).actions()
    assert "arrive" in selectors.lifecycle_of_version(a2.pk).actions()
    assert "callback" in selectors.lifecycle_of_version(b1.pk).actions()


@pytest.mark.django_db
@pytest.mark.rule("D0a", "D0b", "D1a", "D1b")
def test_a_drafts_rules_are_read_again_after_a_while_and_a_published_versions_kept(later):
    published = services.current_policy_version()
    draft = services.draft_new_version(note="gap")
    repair, complaint = BusinessType.objects.get(code="repair"), BusinessType.objects.get(code="complaint")

    def dispatch(version, bt=repair) -> int:
        return selectors.rules_for(version=version, business_type=bt, sub_class=None, priority="",
                                   area_class="")["dispatch"].amount

    # Each (version, type) its own rules (repair: 5 min, complaint: 20 min: D1a, D1b).
    assert (dispatch(published), dispatch(draft), dispatch(published, complaint), dispatch(draft.pk, complaint)) == (5, 5, 20, 20)
    # An edit that bypasses the signals and save()'s refusal to touch a published version...
    TimeLimitRule.objects.filter(business_type=repair, metric="dispatch").update(amount=7)
    assert (dispatch(published), dispatch(draft)) == (5, 5)  # ...is not seen at once,
    later(cache.TTL_SECONDS + 1)
    # ...then in the draft, which may still change; a published version is
    # frozen (D0b), so its rules, read once, are kept for good.
    assert (dispatch(published), dispatch(draft)) == (5, 7)
    later(10 * cache.TTL_SECONDS)
    assert (dispatch(published), dispatch(draft.pk)) == (5, 7)
