"""Each call KPI against figures worked out by hand (C3, C5)."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.calls import kpis, policies, services
from hotline.calls.tests.conftest import T0
from hotline.calls.tests.events import call
from hotline.core import policy

DAY = kpis.Period(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=23))


# --- pure rates ------------------------------------------------------------------------

@pytest.mark.rule("C3x", "C3a")
def test_the_seed_answer_rate():
    # 7,920,545 answered of 8,513,560 offered is 93.03 % [003]
    value = kpis.answer_rate(7_920_545, 8_513_560)
    assert kpis.percent(value) == 93.03
    assert value == pytest.approx(0.930344, abs=1e-6)


@pytest.mark.rule("C5j")
def test_a_rate_over_nothing_is_empty_not_zero():
    assert kpis.rate(0, 0) is None and kpis.rate(5, None) is None
    assert kpis.rate(0, 4) == 0.0
    assert kpis.answer_rate(0, 0) is None and kpis.abandon_rate(0, 0) is None
    assert kpis.service_level(0, 3, short_abandoned=3, exclude_short=True) is None


@pytest.mark.rule("C3b")
def test_the_service_level_variants_as_functions():
    assert kpis.service_level(8, 10) == 0.8
    assert kpis.service_level(8, 10, short_abandoned=2, exclude_short=True) == 1.0


# --- from the database -------------------------------------------------------------------

S = kpis.Settings(T=20, S=5, R=9, N=3, ring_cycle=3, ring_pass_by="seconds_or_rings")


@pytest.fixture
def ten(world, http_source):
    """Ten queue entries: 6 answered (waits 4, 9, 15, 20, 21, 40; rings 3, 9, 10,
    12, 13, unknown), 4 abandoned (waits 0, 4, 5, 30), plus one waiting."""
    events = []
    answered = [(4, 3), (9, 9), (15, 10), (20, 12), (21, 13), (40, None)]
    for n, (wait, ring) in enumerate(answered):
        events += call(f"a{n}", n * 100, answer=wait, ring=ring, talk=60 + n * 10, hold=(5, 15), wrap=20,
                       survey=[1, 2, 3, 1, None, 2][n])
    for n, wait in enumerate([0, 4, 5, 30]):
        events += call(f"b{n}", 1000 + n * 100, abandon=wait)
    events += call("w", 2000)
    services.ingest(http_source, events)


@pytest.mark.rule("C3v", "C3a", "C3c", "C5f")
def test_offered_answered_abandoned_and_rates(ten):
    f = kpis.figures(DAY, settings=S)
    assert (f.offered, f.answered, f.abandoned, f.in_progress) == (10, 6, 4, 1)
    assert kpis.offered(DAY, settings=S) == 10
    assert kpis.answered(DAY, settings=S) == 6
    assert kpis.abandoned(DAY, settings=S) == 4
    assert kpis.in_progress(DAY, settings=S) == 1
    assert kpis.answer_rate_of(DAY, settings=S) == pytest.approx(0.6)
    assert kpis.abandon_rate_of(DAY, settings=S) == pytest.approx(0.4)


@pytest.mark.rule("C3w", "C5c")
@pytest.mark.parametrize("short,expected", [(5, 3), (4, 2), (0, 1), (60, 4)])
def test_short_abandons_by_s(ten, short, expected):
    settings = kpis.Settings(T=20, S=short)
    assert kpis.short_abandoned(DAY, settings=settings) == expected


@pytest.mark.rule("C3b", "C5k")
def test_every_service_level_variant(ten):
    # answered within 20 s: waits 4, 9, 15, 20 (≤ T) = 4; abandoned within 20 s: 0, 4, 5 = 3
    assert kpis.service_level_of(DAY, variant="offered", settings=S) == pytest.approx(4 / 10)
    assert kpis.service_level_of(DAY, variant="excl_short", settings=S) == pytest.approx(4 / (10 - 3))
    assert kpis.service_level_of(DAY, variant="answered", settings=S) == pytest.approx(4 / 6)
    assert kpis.asterisk_sl(DAY, settings=S) == pytest.approx(4 / 6)
    assert kpis.asterisk_sl2(DAY, settings=S) == pytest.approx((4 + 3) / (6 + 4))
    shorter = kpis.Settings(T=10, S=5)
    assert kpis.service_level_of(DAY, settings=shorter) == pytest.approx(2 / 10)
    with pytest.raises(ValueError):
        kpis.service_level_of(DAY, variant="other", settings=S)


@pytest.mark.rule("C3d")
def test_asa(ten):
    assert kpis.asa(DAY, settings=S) == pytest.approx((4 + 9 + 15 + 20 + 21 + 40) / 6)


@pytest.mark.rule("C3e", "C5e")
def test_aht_counts_talk_hold_and_after_call_work(ten):
    talks = [60 + n * 10 for n in range(6)]
    aht = kpis.aht(DAY, settings=S)
    assert aht.seconds == pytest.approx((sum(talks) + 6 * 10 + 6 * 20) / 6)
    assert aht.basis == kpis.AHT_FULL


@pytest.mark.rule("C3g", "C5d")
@pytest.mark.parametrize("by,cycle,passed", [
    ("seconds_only", 3, 2),  # rings 3 and 9 s are ≤ 9 s
    ("rings_only", 3, 2),  # ≤ 3 rings of 3 s is ≤ 9 s
    ("rings_only", 4, 4),  # ≤ 3 rings of 4 s: 3, 9, 10, 12
    ("seconds_or_rings", 4, 4),
    ("seconds_or_rings", 2, 2),  # 3 rings of 2 s is 6 s: the 9 seconds decide
    ("seconds_only", 5, 2),
    ("rings_only", 5, 5),  # up to 15 s
])
def test_ring_pass_by_seconds_or_by_rings(ten, by, cycle, passed):
    settings = kpis.Settings(R=9, N=3, ring_cycle=cycle, ring_pass_by=by)
    # the answered call without a ring time is left out and counted apart
    assert kpis.ring_unknown(DAY, settings=settings) == 1
    assert kpis.ring_pass_rate(DAY, settings=settings) == pytest.approx(passed / 5)
    assert kpis.report(DAY, settings=settings).avg_ring_s == pytest.approx((3 + 9 + 10 + 12 + 13) / 5)


@pytest.mark.rule("C5d")
def test_rings_are_the_ring_time_over_the_cycle_rounded_up(ten):
    from hotline.calls.models import Call

    rings = {c.ring_s: c.ring_count(3.0) for c in Call.objects.exclude(ring_s=None)}
    assert rings == {3.0: 1, 9.0: 3, 10.0: 4, 12.0: 4, 13.0: 5}


@pytest.mark.rule("C3i")
def test_satisfaction(ten):
    # answers 1, 2, 3, 1, 2: four of five satisfied or basically satisfied
    assert kpis.satisfaction(DAY, settings=S) == pytest.approx(4 / 5)


@pytest.mark.rule("C5a")
def test_periods_are_half_open_in_the_center_time_zone(ten):
    # a0 entered at 09:00:00 center time, a1 at 09:01:40
    first = kpis.Period(dt.datetime(2026, 11, 17, 9, 0), dt.datetime(2026, 11, 17, 9, 1, 40))
    assert kpis.offered(first, settings=S) == 1
    assert kpis.offered(kpis.Period.parse("2026-11-17T09:01:40", "2026-11-17T09:03:20"), settings=S) == 1
    assert kpis.offered(kpis.Period.parse("2026-11-17T01:00:00+00:00", "2026-11-17T01:00:01Z"), settings=S) == 1
    assert kpis.offered(kpis.Period.day(dt.date(2026, 11, 17)), settings=S) == 10
    assert kpis.offered(kpis.Period.day(dt.date(2026, 11, 16)), settings=S) == 0
    with pytest.raises(ValueError):
        kpis.Period.parse("2026-11-18", "2026-11-17")


@pytest.mark.rule("C5j")
def test_an_empty_period_has_empty_rates(world):
    r = kpis.report(DAY, settings=S)
    assert r.offered == 0
    assert all(getattr(r, k) is None for k in ("answer_rate", "abandon_rate", "service_level",
                                               "service_level_of_answered", "service_level_excl_short",
                                               "asterisk_sl", "asterisk_sl2", "asa_s", "aht_s", "ring_pass_rate",
                                               "avg_ring_s", "satisfaction"))


@pytest.mark.rule("C5i")
def test_per_agent_counts_the_rings_it_left_unanswered(world, http_source):
    services.ingest(http_source, [
        *call("p1", 0, answer=10, agent="1001", ring=4, talk=30),
        *call("p2", 100, answer=20, agent="1002", ring=5, rang_first=("1001", 9), talk=40),
        *call("p3", 200, abandon=30, rang_first=("1001", 12)),
        *call("p4", 300, answer=5, agent="1002", ring=2, talk=50),
    ])
    one = kpis.report(DAY, agent=world.agent, settings=S)
    # answered p1; rang unanswered p2 (answered by 1002 after) and p3 (abandoned)
    assert (one.offered, one.answered, one.ring_no_answer) == (3, 1, 2)
    assert one.answer_rate == pytest.approx(1 / 3)
    assert one.asa_s == 10 and one.aht_s == pytest.approx(30)
    two = kpis.report(DAY, agent=world.agent2, settings=S)
    assert (two.offered, two.answered, two.ring_no_answer) == (2, 2, 0)
    assert two.asa_s == pytest.approx((20 + 5) / 2)
    by_queue = kpis.report(DAY, agent=world.agent, queue="repair", settings=S)
    assert by_queue.offered == 0 and by_queue.answer_rate is None


@pytest.mark.rule("C3g", "C3b", "C3w")
def test_the_defaults_come_from_the_policy_settings(world, ten):
    assert kpis.Settings.current() == kpis.Settings(T=20, S=5, R=9.0, N=3, ring_cycle=3.0,
                                                    ring_pass_by="seconds_or_rings")
    policy.set_value(key=policies.SERVICE_LEVEL_SECONDS, value="15", user=world.admin)
    policy.set_value(key=policies.RING_CYCLE_SECONDS, value="4", user=world.admin)
    policy.set_value(key=policies.RING_PASS_BY, value="rings_only", user=world.admin)
    current = kpis.Settings.current(S=0)
    assert (current.T, current.S, current.ring_cycle, current.ring_pass_by) == (15, 0, 4.0, "rings_only")
    r = kpis.report(DAY)
    assert r.T == 15 and r.answered_within_T == 3 and r.ring_pass_rate == pytest.approx(4 / 5)


@pytest.mark.rule("C5e")
def test_aht_says_when_it_is_talk_only(world, http_source, queue_log_source):
    from hotline.calls.adapters import asterisk_queue_log as ql

    services.ingest(http_source, call("m1", 0, answer=5, talk=100, hold=(10, 20), wrap=30))
    assert kpis.aht(DAY).basis == kpis.AHT_FULL
    services.ingest(queue_log_source, list(ql.parse_lines([
        "1794877300|q1|95598|SIP/1001|CONNECT|5|x|1", "1794877300|q1|95598|NONE|ENTERQUEUE||138|1",
        "1794877350|q1|95598|SIP/1001|COMPLETECALLER|5|50|1"])))
    mixed = kpis.aht(DAY)
    assert mixed.basis == kpis.AHT_MIXED
    assert mixed.seconds == pytest.approx((100 + 10 + 30 + 50) / 2)
    assert kpis.aht(DAY, source=queue_log_source).basis == kpis.AHT_TALK_ONLY


@pytest.mark.rule("C5e")
def test_aht_of_a_source_with_hold_but_no_after_call_work_says_talk_and_hold(world):
    ami = services.create_source(name="ami-x", kind="asterisk_ami")  # AMI: hold yes, after-call work no
    services.ingest(ami, call("h1", 0, answer=5, talk=100, hold=(10, 20)) + call("h2", 200, answer=3, talk=60))
    result = kpis.aht(DAY, source=ami)
    assert result.basis == kpis.AHT_TALK_HOLD
    assert result.seconds == pytest.approx((100 + 10 + 60) / 2)


@pytest.mark.rule("C3a")
def test_the_kpi_commands_find_an_agent_by_user_name_or_agent_number(world, http_source):
    """``--agent`` of ``hotline calls kpi`` and ``hotline reports kpi``
    (calls.selectors.agent_named): the user name or the agent number."""
    import json
    from io import StringIO

    from django.core.management import CommandError, call_command


    services.set_agent_identity(source=http_source, agent_ref="1001", user=world.agent)
    services.ingest(http_source, call("c1", 0, answer=5, talk=100) + call("c2", 600, abandon=10))
    world.agent.agent_number = "7001"
    world.agent.save(update_fields=["agent_number"])
    for name in (world.agent.username, "7001"):
        for command in ("calls", "reports"):
            out = StringIO()
            call_command(command, "kpi", "--from", "2000-01-01", "--to", "2100-01-01", "--agent", name, "--json",
                         stdout=out)
            assert json.loads(out.getvalue())["answered"] == 1, (command, name)
    for command in ("calls", "reports"):
        with pytest.raises(CommandError, match="no agent"):
            call_command(command, "kpi", "--from", "2000-01-01", "--to", "2100-01-01", "--agent", "nobody", "--json")
