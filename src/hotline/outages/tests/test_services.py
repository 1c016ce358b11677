"""Publishing and changing outage notices (D7a): the classes, the life of a
notice, its validation, who may do what, and the revision history."""

import datetime as dt

import pytest
from django.utils import translation

from hotline.core import clock
from hotline.core.models import OutboxMessage
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.outages import services
from hotline.outages.models import (
    MARKETING_CLASSES,
    PRODUCTION_CLASSES,
    Outage,
    OutageClass,
    OutageEvent,
    OutageStatus,
)
from hotline.outages.tests.factories import kinds, outage_input, own_events, published
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db




@pytest.mark.rule("D7a")
def test_the_eight_classes_carry_the_seed_documents_names():
    with translation.override("zh-hans"):
        names = {c.value: str(c.label) for c in OutageClass}
    assert names == {"planned": "计划停电", "temporary": "临时停电", "grid_fault": "电网故障停电",
                     "over_capacity": "超电网供电能力停限电", "arrears": "欠费停电", "theft": "窃电停电",
                     "contract_violation": "违约用电停电", "orderly_use": "有序用电"}
    assert PRODUCTION_CLASSES == {"planned", "temporary", "grid_fault", "over_capacity"}
    assert MARKETING_CLASSES == {"arrears", "theft", "contract_violation", "orderly_use"}


@pytest.mark.rule("D7a")
def test_a_notice_from_draft_to_restoration_leaves_one_event_per_change(world, desk, frozen):
    t0 = world.areas["town0"]
    outage = services.draft(actor=desk, data=outage_input([t0], lines=["10kV城关线"], transformers=["南街1号变"]))
    assert outage.status == OutageStatus.DRAFT and outage.number.startswith("TD261117")
    assert outage.publishing_unit == world.desk and outage.created_by == desk
    services.publish(outage=outage, actor=desk)
    start = outage.planned_start
    services.revise(outage=outage, actor=desk, changes={"planned_start": start + dt.timedelta(hours=1),
                                                        "area_ids": [t0.pk, world.areas["town1"].pk]})
    frozen.set(start + dt.timedelta(hours=1, minutes=2))
    services.start(outage=outage, actor=desk)
    frozen.advance(hours=6)
    services.delay(outage=outage, actor=desk, new_end=outage.planned_end + dt.timedelta(hours=2), reason="发现隐患")
    frozen.advance(hours=3)
    services.restore(outage=outage, actor=desk)

    outage = Outage.objects.get(pk=outage.pk)
    assert outage.status == OutageStatus.RESTORED
    assert outage.actual_start == start + dt.timedelta(hours=1, minutes=2)
    assert outage.actual_restoration == frozen()
    assert kinds(outage) == ["drafted", "published", "revised", "started", "delayed", "restored"]
    events = list(own_events(outage))
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1 and outage.last_seq >= 6
    assert all(e.actor == desk and e.actor_role == Role.UNIT_STAFF for e in events)
    drafted, pub, revised, started, delayed, restored = (e.payload["changes"] for e in events)
    assert drafted["areas"] == {"old": None, "new": ["t-a0"]} and drafted["lines"]["new"] == ["10kV城关线"]
    assert pub["status"] == {"old": "draft", "new": "published"}
    assert revised["areas"] == {"old": ["t-a0"], "new": ["t-a0", "t-a1"]}
    assert revised["planned_start"]["old"] == start.isoformat()
    assert dt.datetime.fromisoformat(revised["planned_start"]["new"]) == start + dt.timedelta(hours=1)
    assert set(revised) == {"areas", "planned_start"}  # only what changed
    assert started["status"] == {"old": "published", "new": "started"}
    assert delayed["status"] == {"old": "started", "new": "delayed"} and events[4].payload["reason"] == "发现隐患"
    assert restored["status"] == {"old": "delayed", "new": "restored"}


@pytest.mark.rule("D7a")
def test_an_event_and_its_change_commit_together(world, desk, settings):
    outage = services.draft(actor=desk, data=outage_input([world.areas["town0"]]))
    services.subscribe(channel="sms", address="13800000001", area=world.areas["town0"])
    # A subscriber's message cannot be written (no such outbox channel): the
    # publication, its event and every message roll back with it.
    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_OUTAGE_SMS_CHANNEL": "no-such-channel"}
    with pytest.raises(ValueError):
        services.publish(outage=outage, actor=desk)
    outage.refresh_from_db()
    assert outage.status == OutageStatus.DRAFT and kinds(outage) == ["drafted"]
    assert not OutboxMessage.objects.exists()


@pytest.mark.rule("D7a")
def test_events_are_append_only(world, desk):
    outage = services.draft(actor=desk, data=outage_input([world.areas["town0"]]))
    event = outage.events.get()
    event.kind = "published"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.postgres
@pytest.mark.rule("D7a")
def test_the_database_refuses_to_rewrite_the_history(world, desk):
    from django.db import IntegrityError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("database triggers are installed on PostgreSQL only (CI runs it)")
    outage = services.draft(actor=desk, data=outage_input([world.areas["town0"]]))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        OutageEvent.objects.filter(outage=outage).update(kind="published")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        OutageEvent.objects.filter(outage=outage)._raw_delete(connection.alias)
    assert kinds(outage) == ["drafted"]


def error(call, **kw):
    with translation.override("zh-hans"), pytest.raises(services.OutageError) as info:
        call(**kw)
    return info.value


@pytest.mark.rule("D7a")
def test_a_draft_names_the_field_of_each_problem_in_chinese(world, desk, frozen):
    t0 = world.areas["town0"]
    start = frozen() + dt.timedelta(days=8)
    cases = [
        (dict(planned_end=start), "planned_end", "计划结束时间"),
        (dict(planned_end=start - dt.timedelta(hours=1)), "planned_end", "计划结束时间"),
        (dict(area_ids=[]), "area_ids", "停电区域"),
        (dict(area_ids=[987654]), "area_ids", "停电区域"),
        (dict(reason="  "), "reason", "停电原因"),
        (dict(planned_start=None), "planned_start", "计划开始时间"),
        (dict(outage_class="flood"), "outage_class", "停电类型"),
        (dict(outage_class=OutageClass.GRID_FAULT, planned_start=None), "occurred_at", "跳闸时间"),
        (dict(outage_class=OutageClass.GRID_FAULT, occurred_at=frozen() + dt.timedelta(minutes=5)), "occurred_at",
         "跳闸时间"),
        (dict(number="has space"), "number", "编号"),
        (dict(number="TD2611170001"), "number", "编号"),
    ]
    for change, field, word in cases:
        data = outage_input([t0], start=start)
        for k, v in change.items():
            setattr(data, k, v)
        exc = error(services.draft, actor=desk, data=data)
        assert exc.field == field, change
        assert word in exc.message, (change, exc.message)
    assert not Outage.objects.exists()


@pytest.mark.rule("D7a")
def test_a_fault_outage_starts_at_its_trip(world, desk, frozen):
    trip = frozen() - dt.timedelta(minutes=7)
    data = outage_input([world.areas["v1"]], cls=OutageClass.GRID_FAULT, start=None, reason="10kV东山线跳闸",
                        occurred_at=trip)
    data.planned_start = None
    outage = services.draft(actor=desk, data=data, publish=True)
    assert outage.planned_start == trip and outage.occurred_at == trip
    services.start(outage=outage, actor=desk)
    outage.refresh_from_db()
    assert outage.actual_start == trip and outage.status == OutageStatus.STARTED


@pytest.mark.rule("D7a")
def test_a_delay_must_end_after_the_announced_end_and_say_why(world, desk, frozen):
    outage = published(desk, [world.areas["town0"]], start=frozen() - dt.timedelta(hours=1), hours=4)
    with translation.override("zh-hans"), pytest.raises(services.OutageStateError) as info:
        services.delay(outage=outage, actor=desk, new_end=outage.planned_end + dt.timedelta(hours=1), reason="x")
    assert "延时" in str(info.value)  # not started yet: revise instead
    services.start(outage=outage, actor=desk)
    end = outage.planned_end
    exc = error(services.delay, outage=outage, actor=desk, new_end=end, reason="抢修未完")
    assert exc.field == "new_end" and "新的预计送电时间" in exc.message and end.astimezone(
        dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M") in exc.message
    exc = error(services.delay, outage=outage, actor=desk, new_end=end + dt.timedelta(hours=1), reason=" ")
    assert exc.field == "reason"
    services.delay(outage=outage, actor=desk, new_end=end + dt.timedelta(hours=1), reason="抢修未完")
    exc = error(services.delay, outage=outage, actor=desk, new_end=end + dt.timedelta(minutes=30), reason="再延")
    assert exc.field == "new_end"  # after the *current* announced end
    services.delay(outage=outage, actor=desk, new_end=end + dt.timedelta(hours=2), reason="再延")
    assert kinds(outage)[-2:] == ["delayed", "delayed"]
    assert Outage.objects.get(pk=outage.pk).planned_end == end + dt.timedelta(hours=2)


@pytest.mark.rule("D7a")
def test_restoration_times_are_checked(world, desk, frozen):
    outage = published(desk, [world.areas["town0"]], start=frozen() - dt.timedelta(hours=2))
    exc = error(services.restore, outage=outage, actor=desk)
    assert exc.field == "actual_start" and "实际停电时间" in exc.message  # never marked as started
    services.start(outage=outage, actor=desk, actual_start=frozen() - dt.timedelta(hours=1))
    exc = error(services.restore, outage=outage, actor=desk, actual_restoration=frozen() - dt.timedelta(hours=2))
    assert exc.field == "actual_restoration" and "实际送电时间" in exc.message
    exc = error(services.restore, outage=outage, actor=desk, actual_restoration=frozen() + dt.timedelta(minutes=1))
    assert exc.field == "actual_restoration"
    services.restore(outage=outage, actor=desk)
    assert Outage.objects.get(pk=outage.pk).status == OutageStatus.RESTORED


@pytest.mark.rule("D7a")
def test_nothing_changes_after_restoration_or_cancellation(world, desk, frozen):
    over = published(desk, [world.areas["town0"]], start=frozen() - dt.timedelta(hours=2))
    services.start(outage=over, actor=desk)
    services.restore(outage=over, actor=desk)
    cancelled = published(desk, [world.areas["town1"]])
    services.cancel(outage=cancelled, actor=desk, reason="天气原因改期")
    attempts = [
        lambda o: services.revise(outage=o, actor=desk, changes={"reason": "新原因"}),
        lambda o: services.delay(outage=o, actor=desk, new_end=o.planned_end + dt.timedelta(days=1), reason="x"),
        lambda o: services.start(outage=o, actor=desk),
        lambda o: services.restore(outage=o, actor=desk),
        lambda o: services.cancel(outage=o, actor=desk, reason="x"),
        lambda o: services.publish(outage=o, actor=desk),
    ]
    for outage, word in ((over, "已恢复送电"), (cancelled, "已取消")):
        before = kinds(outage)
        for attempt in attempts:
            with translation.override("zh-hans"), pytest.raises(services.OutageStateError) as info:
                attempt(outage)
            assert word in str(info.value) and outage.number in str(info.value)
        assert kinds(outage) == before


@pytest.mark.rule("D7a")
def test_power_that_is_off_cannot_be_cancelled_or_moved(world, desk, frozen):
    outage = published(desk, [world.areas["town0"]], start=frozen() - dt.timedelta(minutes=30))
    services.start(outage=outage, actor=desk)
    with pytest.raises(services.OutageStateError):
        services.cancel(outage=outage, actor=desk, reason="x")
    assert error(services.revise, outage=outage, actor=desk,
                 changes={"planned_end": outage.planned_end + dt.timedelta(hours=1)}).field == "planned_end"
    assert error(services.revise, outage=outage, actor=desk,
                 changes={"planned_start": outage.planned_start - dt.timedelta(hours=1)}).field == "planned_start"
    services.revise(outage=outage, actor=desk, changes={"scope": "南街、北街"})  # the rest may still change


@pytest.mark.rule("D7a")
def test_a_revision_must_change_something(world, desk):
    outage = published(desk, [world.areas["town0"]])
    exc = error(services.revise, outage=outage, actor=desk, changes={"reason": outage.reason})
    assert exc.field == "changes"
    assert kinds(outage) == ["drafted", "published"]
    assert error(services.revise, outage=outage, actor=desk,
                 changes={"outage_class": OutageClass.TEMPORARY}).field == "outage_class"  # a draft's only


@pytest.mark.rule("D7a")
def test_dispatch_and_operations_publish_the_rest_read(world, desk):
    t0, town1 = world.areas["town0"], world.areas["town1"]
    station0, station1 = world.station_users[0], world.station_users[1]
    may = [(desk, OutageClass.PLANNED, [t0, town1]), (world.leader, OutageClass.TEMPORARY, [town1]),
           (world.director, OutageClass.ARREARS, [t0]), (world.admin, OutageClass.THEFT, [t0]),
           (station0, OutageClass.PLANNED, [t0]), (world.marketing_user, OutageClass.ARREARS, [t0, town1]),
           (world.marketing_user, OutageClass.ORDERLY_USE, [town1])]
    for user, cls, areas in may:
        assert services.draft(actor=user, data=outage_input(areas, cls=cls)).status == OutageStatus.DRAFT
    refused = [(world.agent, OutageClass.PLANNED), (world.discipline_user, OutageClass.PLANNED),
               (station0, OutageClass.ARREARS), (world.marketing_user, OutageClass.PLANNED),
               (desk, OutageClass.THEFT)]
    for user, cls in refused:
        with pytest.raises(services.NotAllowed):
            services.draft(actor=user, data=outage_input([t0], cls=cls))
    # A station publishes for the areas it serves, not its neighbour's.
    exc = error(services.draft, actor=station0, data=outage_input([town1]))
    assert exc.field == "area_ids" and "东山乡" in exc.message
    # … nor acts on the dispatch desk's notices; the desk acts on the station's.
    by_desk = published(desk, [t0])
    with pytest.raises(services.NotAllowed):
        services.cancel(outage=by_desk, actor=station0, reason="x")
    with pytest.raises(services.NotAllowed):
        services.cancel(outage=by_desk, actor=world.agent, reason="x")
    by_station = published(station0, [t0])
    services.cancel(outage=by_station, actor=desk, reason="改期")
    # Another county's dispatcher reaches nothing here.
    other_county = org.create_unit(name="邻县公司", code="t-county2", kind="county", parent=world.city)
    other_desk_unit = org.create_unit(name="邻县调度", code="t-desk2", kind="dispatch_desk", parent=other_county)
    other = org.create_user(username="t-desk2", password=PASSWORD, role=Role.UNIT_STAFF, unit=other_desk_unit)
    assert error(services.draft, actor=other, data=outage_input([t0])).field == "area_ids"
    with pytest.raises(services.NotAllowed):
        services.revise(outage=by_desk, actor=other, changes={"reason": "x"})
