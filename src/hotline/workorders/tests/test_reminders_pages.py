"""Manual reminders (D5d) from the order page and the API; the order's
record (D11a) on the page and in the API."""

import pytest
from django.test import Client

from hotline.organisation.services import issue_api_token
from hotline.testing import PASSWORD
from hotline.timelimits.models import Notice
from hotline.workorders import services
from hotline.workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db


def repair(world):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", fault_scope="company",
        customer_id=world.customers["zhang"].id,
        contact={"source": "asterisk-main", "source_id": "1700000100.1", "recording_ref": "rec/1700000100.1.wav"}))


def logged_in(user):
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


@pytest.mark.rule("D5d")
def test_reminder_from_the_order_page(world, frozen):
    order = repair(world)
    page = logged_in(world.leader).get(f"/orders/{order.number}/")
    assert page.status_code == 200 and f"/orders/{order.number}/remind/".encode() in page.content
    r = logged_in(world.leader).post(f"/orders/{order.number}/remind/", {"text": "请立即安排抢修"})
    assert r.status_code == 302
    assert Notice.objects.filter(order=order, kind="manual", created_by=world.leader).count() == 1
    assert WorkOrderEvent.objects.filter(order=order, kind="reminder").count() == 1
    empty = logged_in(world.agent).post(f"/orders/{order.number}/remind/", {"text": " "})
    assert empty.status_code == 400 and Notice.objects.filter(order=order, kind="manual").count() == 1
    # The handling unit is reminded, it does not remind.
    assert logged_in(world.station_users[0]).post(f"/orders/{order.number}/remind/", {"text": "x"}).status_code == 403


@pytest.mark.rule("D5d")
def test_reminder_through_the_api(world, frozen):
    order = repair(world)
    _, key = issue_api_token(user=world.agent, name="t")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    r = c.post(f"/api/orders/{order.number}/reminders", {"text": "客户第三次来电"}, content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["kind"] == "manual" and body["unit"] == world.stations[0].name
    assert c.post(f"/api/orders/{order.number}/reminders", {"text": ""}, content_type="application/json").status_code == 422
    _, unit_key = issue_api_token(user=world.station_users[0], name="u")
    denied = Client(HTTP_AUTHORIZATION=f"Bearer {unit_key}").post(
        f"/api/orders/{order.number}/reminders", {"text": "x"}, content_type="application/json")
    assert denied.status_code == 403


@pytest.mark.rule("D11a")
def test_record_shows_contacts_and_recording_on_page_and_api(world, frozen):
    order = repair(world)
    page = logged_in(world.agent).get(f"/orders/{order.number}/")
    assert "rec/1700000100.1.wav" in page.content.decode()
    _, key = issue_api_token(user=world.agent, name="t")
    body = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(f"/api/orders/{order.number}/record").json()
    assert body["contacts"][0]["recording_ref"] == "rec/1700000100.1.wav" and body["complete"] is True


@pytest.mark.rule("D11a")
def test_api_create_records_the_contact_once_per_idempotent_request(world, frozen):
    from hotline.contacts.models import Contact

    _, key = issue_api_token(user=world.agent, name="t")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"business_type": "complaint", "sub_class": "service", "description": "态度差",
            "customer_id": world.customers["li"].id,
            "contact": {"source": "fs-1", "source_id": "uuid-42", "caller_number": "0571-87654321", "recording_ref": "x.wav"}}
    first = c.post("/api/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = c.post("/api/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.json()["number"] == first.json()["number"]
    assert Contact.objects.filter(source="fs-1").count() == 1
    bad = c.post("/api/orders", dict(body, contact={"source": "fs-1", "caller_number": "12ab"}), content_type="application/json")
    assert bad.status_code == 422 and "contact.caller_number" in str(bad.json()["detail"])
    plain = c.post("/api/orders", dict(body, contact=None), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert Contact.objects.filter(source=f"api:{world.agent.pk}", source_id="k-2", channel="api").count() == 1, plain.content
