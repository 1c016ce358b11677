"""The HTTP ingest (C1d): batches per source token, counts per event,
errors as the other routers give them (422 naming the event and field, in
the user's language; 401 without the source's token)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hotline.calls import services
from hotline.calls.models import Call, CallEvent
from hotline.organisation.services import issue_api_token

pytestmark = pytest.mark.django_db

URL = "/api/calls/events"


@pytest.fixture
def key(http_source):
    return services.issue_source_token(http_source)


def send(body, key=None, **headers):
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return Client().post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def offered(eid="o1", call="api-1", at="2026-11-17T09:00:00+08:00", **data):
    return {"id": eid, "type": "call.offered", "at": at, "call_id": call, "queue": "95598",
            "data": {"caller_number": "13800001111", **data}}


@pytest.mark.rule("C1d", "C5h", "C1i")
def test_a_batch_is_counted_event_by_event(world, key):
    batch = {"events": [
        offered(),
        {"id": "r1", "type": "call.ringing", "at": "2026-11-17T09:00:05+08:00", "call_id": "api-1",
         "agent": "1001", "queue": "95598"},
        {"id": "a1", "type": "call.answered", "at": "2026-11-17T09:00:08+08:00", "call_id": "api-1",
         "agent": "1001", "queue": "95598"},
        {"id": "x1", "type": "call.ended", "at": "2026-11-17T09:01:00+08:00", "call_id": "elsewhere",
         "data": {"hung_up_by": "agent"}},
        offered(),  # twice in the batch
    ]}
    r = send(batch, key)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["accepted"], body["duplicate"], body["unplaced"]) == (4, 1, 1)
    assert body["unplaced_events"] == [{"id": "x1", "reason": "no_call", "reason_label": "此前没有该通话的排队记录"}]
    c = Call.objects.get(call_id="api-1")
    assert (c.status, c.wait_s, c.ring_s, c.agent) == ("talking", 8.0, 3.0, world.agent)
    again = send(batch, key).json()
    assert (again["accepted"], again["duplicate"], again["unplaced"]) == (0, 5, 0)


@pytest.mark.rule("C5a")
def test_a_time_without_offset_is_the_center_time(world, key):
    assert send({"events": [offered(at="2026-11-17T09:00:00")]}, key).status_code == 200
    assert Call.objects.get().offered_at.isoformat() == "2026-11-17T01:00:00+00:00"


@pytest.mark.rule("C1d")
def test_only_the_source_token_gets_in(world, key):
    assert send({"events": [offered()]}).status_code == 401
    r = send({"events": [offered()]}, "hs_wrong")
    assert r.status_code == 401 and "令牌" in r.json()["detail"]
    _token, user_key = issue_api_token(user=world.admin, name="admin")
    assert send({"events": [offered()]}, user_key).status_code == 401  # a user's token is not a source's
    assert not CallEvent.objects.exists()


@pytest.mark.rule("C1d")
@pytest.mark.parametrize("event,loc,words", [
    ({"type": "call.nonsense"}, ["events", 0, "type"], "以下之一"),
    ({"at": "yesterday"}, ["events", 0, "at"], "日期"),
    ({"id": ""}, ["events", 0, "id"], "至少"),
    ({"call_id": ""}, ["events", 0, "call_id"], "通话"),
    ({"type": "agent.login", "call_id": ""}, ["events", 0, "agent"], "座席"),
    ({"type": "survey.answered", "data": {"answer": 7}}, ["events", 0, "answer"], "满意"),
    ({"data": {"wait_s": -3}}, ["events", 0, "wait_s"], "秒"),
])
def test_bad_events_are_refused_whole_with_the_field_named(world, key, event, loc, words):
    bad = {**offered(eid="b1"), **event}
    r = send({"events": [bad]}, key)
    assert r.status_code == 422, r.content
    problem = r.json()["detail"][0]
    assert problem["loc"] == loc
    assert words in problem["msg"], problem
    assert not CallEvent.objects.exists()


def test_an_error_in_the_second_event_names_it_and_stores_none(world, key):
    r = send({"events": [offered(), {**offered(eid="o2"), "call_id": ""}]}, key)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["events", 1, "call_id"]
    assert not CallEvent.objects.exists()


def test_an_empty_or_missing_batch_is_refused(key):
    assert send({"events": []}, key).status_code == 422
    assert send({}, key).status_code == 422


def test_the_endpoint_is_documented(key):
    schema = Client().get("/api/openapi.json").json()
    operation = schema["paths"]["/api/calls/events"]["post"]
    assert {"200", "401", "422"} <= set(map(str, operation["responses"]))
