"""Subscriptions (D1i) and the subscribers' notices (D7j): who is covered,
one message per event and address, written with the event, never twice."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.core.models import OutboxMessage
from hotline.organisation import services as org
from hotline.outages import services
from hotline.outages.models import OutageEvent, Subscription
from hotline.outages.tests.factories import outage_input, own_events, published

pytestmark = pytest.mark.django_db


def sent(**filters):
    return OutboxMessage.objects.filter(**filters)


def recipients(event):
    prefix = f"outage:{event.outage_id}:{event.seq}:"
    return sorted(sent(dedup_key__startswith=prefix).values_list("recipient", flat=True))


def last_event(outage):
    return own_events(outage).last()


@pytest.fixture
def subscribers(world, neighbour_t):
    a = world.areas
    s = {
        "zhang_account": services.subscribe(channel="sms", address="138 1234 5678", customer=world.customers["zhang"]),
        "village_mail": services.subscribe(channel="email", address="Cun.Wei@Example.com", area=a["v0"]),
        "t0_sms": services.subscribe(channel="sms", address="13800000002", area=a["t0"]),
        "township_sms": services.subscribe(channel="sms", address="13800000003", area=a["town0"]),
        "li_account": services.subscribe(channel="sms", address="13900000004", customer=world.customers["li"]),
        "neighbour": services.subscribe(channel="sms", address="13800000005", area=neighbour_t),
        # The same phone again, for the area: still one message per notice.
        "zhang_area": services.subscribe(channel="sms", address="13812345678", area=a["t0"]),
    }
    gone = services.subscribe(channel="sms", address="13800000006", area=a["t0"])
    services.cancel_subscription(subscription=gone)
    s["cancelled"] = gone
    return s


@pytest.mark.rule("D7j")
def test_each_covered_subscriber_gets_the_notice_once(world, desk, subscribers, frozen):
    outage = published(desk, [world.areas["t0"]], reason="更换南街1号变压器")
    event = last_event(outage)
    assert event.kind == "published"
    # The account in the area, the area, the village and the township it lies
    # in; not the neighbouring transformer area, the other township or a
    # cancelled subscription. The phone subscribed twice gets one SMS.
    assert recipients(event) == sorted(["13812345678", "cun.wei@example.com", "13800000002", "13800000003"])
    sms = sent(recipient="13812345678").get()
    assert sms.channel == "sms_http" and sms.source == f"outage:{outage.number}:published"
    text = sms.payload["text"]
    for part in ("【停电通知】", "计划停电", "南街1号台区", "2026-11-25 09:00", "2026-11-25 17:00", "更换南街1号变压器",
                 outage.number):
        assert part in text, (part, text)
    mail = sent(recipient="cun.wei@example.com").get()
    assert mail.channel == "email" and mail.payload["subject"].startswith("停电通知") and mail.payload["body"] == text
    keys = list(sent().values_list("dedup_key", flat=True))
    assert len(keys) == len(set(keys)) == 4
    assert all(k.startswith(f"outage:{outage.pk}:{event.seq}:") for k in keys)
    # The event keeps what was sent.
    assert event.payload["notice"]["text"] == text


@pytest.mark.rule("D7j")
def test_a_repeated_fan_out_adds_nothing_and_reaches_newcomers(world, desk, subscribers):
    outage = published(desk, [world.areas["t0"]])
    event = last_event(outage)
    before = set(sent().values_list("dedup_key", flat=True))
    assert services.notify_subscribers(event) == 0
    assert set(sent().values_list("dedup_key", flat=True)) == before
    services.subscribe(channel="sms", address="13700000007", area=world.areas["v0"])
    assert services.notify_subscribers(event) == 1  # never misses one either
    assert services.notify_subscribers(event) == 0
    assert len(recipients(event)) == len(before) + 1


@pytest.mark.rule("D7j")
@pytest.mark.rule("D1i")
def test_a_township_outage_covers_what_lies_below_it_not_beside_it(world, desk, subscribers, town1_t):
    services.subscribe(channel="sms", address="13700000008", area=town1_t)
    outage = published(desk, [world.areas["town0"]])
    covered = recipients(last_event(outage))
    assert "13800000005" in covered  # the neighbouring transformer area is in 城关镇 too
    assert "13812345678" in covered and "13800000003" in covered
    assert "13900000004" not in covered and "13700000008" not in covered  # 东山乡
    other = published(desk, [world.areas["v1"]])
    assert recipients(last_event(other)) == ["13700000008", "13900000004"]


@pytest.mark.rule("D7j")
def test_every_change_of_a_published_outage_is_told(world, desk, subscribers, frozen):
    start = frozen() + dt.timedelta(days=8)
    outage = published(desk, [world.areas["t0"]], start=start, hours=4)
    services.revise(outage=outage, actor=desk, changes={"reason": "更换南街1号变压器及刀闸"})
    revised = last_event(outage)
    assert len(recipients(revised)) == 4
    assert "【停电信息变更】" in sent(dedup_key__startswith=f"outage:{outage.pk}:{revised.seq}:").first().payload["text"]
    frozen.set(start + dt.timedelta(minutes=1))
    services.start(outage=outage, actor=desk)
    assert recipients(last_event(outage)) == []  # the start itself is no notice
    services.delay(outage=outage, actor=desk, new_end=start + dt.timedelta(hours=6), reason="发现绝缘子破损")
    delayed = last_event(outage)
    text = sent(recipient="13800000002", dedup_key__contains=f":{delayed.seq}:").get().payload["text"]
    assert "【延时送电】" in text and "2026-11-25 13:00" in text and "2026-11-25 15:00" in text and "绝缘子" in text
    frozen.set(start + dt.timedelta(hours=5))
    services.restore(outage=outage, actor=desk)
    restored = last_event(outage)
    text = sent(recipient="13800000002", dedup_key__contains=f":{restored.seq}:").get().payload["text"]
    assert "【恢复送电】" in text and "2026-11-25 14:00" in text
    assert sent().count() == 4 * 4  # published, revised, delayed, restored: four each

    other = published(desk, [world.areas["t0"]])
    services.cancel(outage=other, actor=desk, reason="天气原因改期")
    text = sent(recipient="13800000002", dedup_key__contains=f"outage:{other.pk}:{last_event(other).seq}:").get()
    assert "【停电取消】" in text.payload["text"] and "天气原因改期" in text.payload["text"]


@pytest.mark.rule("D7j")
def test_drafts_tell_nobody(world, desk, subscribers):
    outage = services.draft(actor=desk, data=outage_input([world.areas["t0"]]))
    services.revise(outage=outage, actor=desk, changes={"reason": "改"})
    services.cancel(outage=outage, actor=desk, reason="不停了")
    assert not sent().exists()


@pytest.mark.rule("D7j")
def test_a_revision_of_the_areas_tells_the_new_and_the_left_out(world, desk, subscribers):
    outage = published(desk, [world.areas["t0"]])
    services.revise(outage=outage, actor=desk, changes={"area_ids": [world.areas["v1"].pk]})
    event = last_event(outage)
    by_phone = {m.recipient: m.payload.get("text") or m.payload["body"] for m in sent(dedup_key__startswith=f"outage:{outage.pk}:{event.seq}:")}
    assert set(by_phone) == {"13900000004", "13812345678", "cun.wei@example.com", "13800000002", "13800000003"}
    assert "桃园村" in by_phone["13900000004"] and "变更为" in by_phone["13900000004"]
    assert "不再包括您订阅的区域" in by_phone["13812345678"]


@pytest.mark.rule("D7j")
def test_the_fan_out_is_set_based(world, desk):
    area = world.areas["t0"]
    customers = [org.create_customer(account_number=f"b{i:05d}", name="客户", address="南街", phone_numbers=[],
                                     service_area=area) for i in range(300)]
    Subscription.objects.bulk_create(
        [Subscription(customer=c, channel="sms", address=f"1380{i:07d}", created_at=c.created_at)
         for i, c in enumerate(customers)]
        + [Subscription(area=area, channel="sms", address=f"1390{i:07d}", created_at=customers[0].created_at)
           for i in range(1500)])
    outage = services.draft(actor=desk, data=outage_input([world.areas["town0"]]))
    with CaptureQueriesContext(connection) as queries:
        services.publish(outage=outage, actor=desk)
    assert sent().count() == 1800
    # A handful of statements for the lock, the checks, the event, the tree
    # and the subscribers, then the inserts (500 rows each): never one per subscriber.
    assert len(queries) < 40, [q["sql"][:80] for q in queries]


@pytest.mark.rule("D7j")
def test_the_outbox_channels_are_settings(world, desk, settings):
    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_OUTAGE_SMS_CHANNEL": "file"}
    services.subscribe(channel="sms", address="13800000001", area=world.areas["t0"])
    services.subscribe(channel="email", address="a@example.com", area=world.areas["t0"])
    published(desk, [world.areas["t0"]])
    assert sorted(sent().values_list("channel", flat=True)) == ["email", "file"]


@pytest.mark.rule("D1i")
def test_one_subscription_per_target_channel_and_address(world):
    zhang = world.customers["zhang"]
    first = services.subscribe(channel="sms", address="138-1234-5678", customer=zhang)
    assert first.address == "13812345678" and first.active
    assert services.subscribe(channel="sms", address="+86 13812345678", customer=zhang).pk == first.pk
    services.cancel_subscription(subscription=first)
    first.refresh_from_db()
    assert not first.active and first.cancelled_at is not None
    again = services.subscribe(channel="sms", address="13812345678", customer=zhang)
    assert again.pk == first.pk and again.active and again.cancelled_at is None
    assert Subscription.objects.count() == 1
    # The same number for an area, or by mail, is another subscription.
    services.subscribe(channel="sms", address="13812345678", area=world.areas["v0"])
    services.subscribe(channel="email", address="zhang@example.com", customer=zhang)
    assert Subscription.objects.count() == 3


@pytest.mark.rule("D1i")
def test_a_subscription_needs_a_target_and_a_usable_address(world):
    zhang = world.customers["zhang"]
    cases = [
        (dict(channel="sms", address="0571-87654321", customer=zhang), "address", "手机号码"),
        (dict(channel="sms", address="12345", customer=zhang), "address", "接收地址"),
        (dict(channel="email", address="not-mail", customer=zhang), "address", "电子邮件"),
        (dict(channel="fax", address="1", customer=zhang), "channel", "渠道"),
        (dict(channel="sms", address="13812345678"), "customer_id", "二选一"),
        (dict(channel="sms", address="13812345678", customer=zhang, area=world.areas["v0"]), "customer_id", "二选一"),
    ]
    for kwargs, field, word in cases:
        with pytest.raises(services.OutageError) as info:
            services.subscribe(**kwargs)
        assert info.value.field == field and word in info.value.message, (kwargs, info.value.message)
    homeless = org.create_customer(account_number="t9999", name="无区域", address="不详", phone_numbers=[])
    with pytest.raises(services.OutageError) as info:
        services.subscribe(channel="sms", address="13812345678", customer=homeless)
    assert "供电区域" in info.value.message
    assert not Subscription.objects.exists()
