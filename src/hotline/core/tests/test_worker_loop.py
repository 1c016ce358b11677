import datetime as dt

import pytest

from hotline.timelimits.apps import idle_sleep as _idle_sleep
from hotline.workorders import services

pytestmark = pytest.mark.django_db


def test_idle_sleep_waits_for_the_next_clock_within_its_bounds(world, frozen):
    # Nothing running: the idle interval.
    assert _idle_sleep(2.0, 0.5) == 2.0
    services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    from hotline.timelimits.selectors import next_check_at

    upcoming = next_check_at()
    # Far ahead: still the idle interval; close: exactly until then; due at
    # once: not less than the minimum gap, so a stream of due clocks is
    # swept in batches.
    assert _idle_sleep(2.0, 0.5) == 2.0
    frozen.advance(seconds=(upcoming - frozen()).total_seconds() - 1.2)
    assert _idle_sleep(2.0, 0.5) == pytest.approx(1.2)
    frozen.advance(seconds=1.19)
    assert _idle_sleep(2.0, 0.5) == 0.5
    frozen.advance(seconds=60)
    assert _idle_sleep(2.0, 0.25) == 0.25
