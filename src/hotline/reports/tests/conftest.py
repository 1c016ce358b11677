"""Shared helpers of the reports tests: orders made and moved through the
real services, a second center elsewhere in the tree (out of scope)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.calls.tests.conftest import http_source  # noqa: F401  (a fixture for these tests too)
from hotline.testing import build_world, handled
from hotline.workorders import services

CST = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A time of November 2026 in the center's zone (the frozen clock starts on Tue 17 09:00)."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=CST)


def create(world, *, actor=None, **kw):
    return services.create_order(actor=actor or world.agent, intake=services.Intake(**kw))


def complaint(world, *, actor=None, customer="li", **kw):
    data = {"business_type": "complaint", "sub_class": "service", "description": "营业厅工作人员态度恶劣",
            "customer_id": world.customers[customer].id}
    data.update(kw)
    return create(world, actor=actor, **data)


def repair(world, *, actor=None, customer="zhang", **kw):
    data = {"business_type": "repair", "sub_class": "lv", "description": "整栋楼停电", "fault_scope": "company",
            "customer_id": world.customers[customer].id}
    data.update(kw)
    return create(world, actor=actor, **data)


def inquiry(world, *, actor=None, customer="zhang", **kw):
    data = {"business_type": "inquiry", "sub_class": "bill", "description": "咨询电费",
            "customer_id": world.customers[customer].id}
    data.update(kw)
    return create(world, actor=actor, **data)


def act(order, action, actor, **payload):
    """One life-cycle action; a unit's resolve and reply carry the handling record its type asks."""
    return services.transition(order=order.number, action=action, actor=actor, payload=handled(order, action, payload))


def move_to(frozen, when: dt.datetime) -> None:
    frozen.advance(seconds=(when - frozen()).total_seconds())


@pytest.fixture
def other(db):
    """Another province's center (its own units, users and customers): never in ``world.center``'s scope."""
    return build_world("o")
