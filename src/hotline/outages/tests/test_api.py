"""Outage notices and subscriptions over the API: the life of a notice, the
error shapes the other routers use, the import, the covering lookup."""

import json

import pytest
from django.test import Client

from hotline.core.models import OutboxMessage
from hotline.organisation.services import issue_api_token
from hotline.outages.models import EventKind, Outage, Subscription
from hotline.outages.tests.test_import import BAD, GOOD, csv_bytes
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def post(c, url, body=None, **headers):
    return c.post(url, data=json.dumps(body or {}), content_type="application/json", headers=headers)


def outage_body(world, **kw):
    body = {"outage_class": "planned", "area_ids": [world.areas["town0"].pk], "planned_start": "2026-11-25T08:00:00+08:00",
            "planned_end": "2026-11-25T17:00:00+08:00", "reason": "10kV城关线检修", "lines": ["10kV城关线"]}
    body.update(kw)
    return body


@pytest.mark.rule("D7a")
def test_an_outage_lives_through_the_api(world, desk, frozen):
    api = client_for(desk)
    r = post(api, "/api/outages", outage_body(world))
    assert r.status_code == 201, r.content
    number = r.json()["number"]
    assert r.json()["status"] == "draft" and r.json()["areas"][0]["code"] == "t-a0"
    assert post(api, f"/api/outages/{number}/publish").json()["status"] == "published"
    r = post(api, f"/api/outages/{number}/revise", {"reason": "更换刀闸", "note": "调度通知"})
    assert r.status_code == 200 and r.json()["reason"] == "更换刀闸" and r.json()["lines"] == ["10kV城关线"]
    frozen.set(frozen().replace(day=25, hour=8, minute=3))
    assert post(api, f"/api/outages/{number}/start").json()["status"] == "started"
    r = post(api, f"/api/outages/{number}/delay", {"new_end": "2026-11-25T19:00:00+08:00", "reason": "抢修未完"})
    assert r.json()["status"] == "delayed" and r.json()["planned_end"].startswith("2026-11-25T11:00:00")  # UTC
    frozen.set(frozen().replace(hour=18))
    assert post(api, f"/api/outages/{number}/restore").json()["status"] == "restored"
    events = api.get(f"/api/outages/{number}/events").json()
    own = [e["kind"] for e in events if e["kind"] in EventKind.values]  # the engine's notices may come between
    assert own == ["drafted", "published", "revised", "started", "delayed", "restored"]
    assert events[2]["payload"]["changes"]["reason"] == {"old": "10kV城关线检修", "new": "更换刀闸"}
    listed = api.get("/api/outages", {"status": "restored"}).json()
    assert listed["count"] == 1 and listed["items"][0]["number"] == number
    assert api.get("/api/outages", {"active": True}).json()["count"] == 0


@pytest.mark.rule("D7a")
def test_errors_have_the_shape_of_the_other_routers(world, desk, frozen):
    api = client_for(desk)
    r = post(api, "/api/outages", outage_body(world, planned_end="2026-11-25T07:00:00+08:00", publish=True))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["planned_end"] and "计划结束时间" in r.json()["detail"][0]["msg"]
    number = post(api, "/api/outages", outage_body(world, publish=True)).json()["number"]
    r = post(api, f"/api/outages/{number}/delay", {"new_end": "2026-11-26T08:00:00+08:00", "reason": "x"})
    assert r.status_code == 409 and "延时送电" in r.json()["detail"]
    r = post(api, f"/api/outages/{number}/revise", {"reason": "10kV城关线检修"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["changes"]
    assert post(api, "/api/outages/nope/publish").status_code == 404
    assert post(api, f"/api/outages/{number}/cancel", {"reason": ""}).status_code == 422
    agent = client_for(world.agent)
    assert post(agent, "/api/outages", outage_body(world)).status_code == 403
    assert post(agent, f"/api/outages/{number}/cancel", {"reason": "x"}).status_code == 403
    assert agent.get(f"/api/outages/{number}").status_code == 200  # everyone reads
    assert Client().get("/api/outages").status_code == 401


@pytest.mark.rule("D7a")
def test_the_import_endpoint_names_every_bad_row(world, desk, frozen):
    _token, key = issue_api_token(user=desk, name="dispatch")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = api.post("/api/outages/import", {"file": SimpleUploadedFile("plan.csv", csv_bytes(GOOD + BAD))})
    assert r.status_code == 422
    assert [tuple(d["loc"]) for d in r.json()["detail"]] == [
        ("file", 5, "结束时间"), ("file", 6, "停电区域编码"), ("file", 6, "停电类型"), ("file", 7, "原因"),
        ("file", 7, "开始时间"), ("file", 8, "编号")]
    assert not Outage.objects.exists()
    r = api.post("/api/outages/import", {"file": SimpleUploadedFile("plan.csv", csv_bytes(GOOD))})
    assert r.status_code == 201 and r.json()["imported"] == 3 and "JH-2026-118" in r.json()["numbers"]


@pytest.mark.rule("D1i")
@pytest.mark.rule("D7j")
def test_an_agent_records_a_subscription_and_it_is_told(world, desk, frozen):
    agent = client_for(world.agent)
    zhang = world.customers["zhang"]
    r = post(agent, "/api/outage-subscriptions", {"customer_id": zhang.pk, "channel": "sms", "address": "138-1234-5678"})
    assert r.status_code == 201, r.content
    sub = r.json()
    assert sub["address"] == "13812345678" and sub["active"]
    r = post(agent, "/api/outage-subscriptions", {"customer_id": zhang.pk, "channel": "sms", "address": "0571-88886666"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["address"]
    post(client_for(desk), "/api/outages", outage_body(world, publish=True))
    assert OutboxMessage.objects.filter(recipient="13812345678").count() == 1
    r = post(agent, f"/api/outage-subscriptions/{sub['id']}/cancel")
    assert r.status_code == 200 and not r.json()["active"]
    assert not Subscription.objects.get().active
    assert post(client_for(world.station_users[0]), "/api/outage-subscriptions",
                {"area_id": world.areas["t0"].pk, "channel": "sms", "address": "13812345678"}).status_code == 403


@pytest.mark.rule("D7i")
def test_the_covering_lookup_over_the_api(world, desk, frozen):
    api = client_for(world.agent)
    post(client_for(desk), "/api/outages", outage_body(world, planned_start="2026-11-17T08:00:00+08:00",
                                                        publish=True))
    r = api.get("/api/outages/covering", {"customer_id": world.customers["zhang"].pk})
    assert r.status_code == 200 and len(r.json()) == 1 and r.json()[0]["reason"] == "10kV城关线检修"
    assert api.get("/api/outages/covering", {"service_area_id": world.areas["v1"].pk}).json() == []
    assert api.get("/api/outages/covering").status_code == 422
