"""The admin shows outages with their history, read-only, and cancels subscriptions."""

import pytest
from django.urls import reverse

from hotline.outages import services
from hotline.outages.models import Subscription
from hotline.outages.tests.factories import published
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_outages_are_shown_not_edited_and_subscriptions_cancelled(world, desk, client, frozen):
    outage = published(desk, [world.areas["town0"]])
    subscription = services.subscribe(channel="sms", address="13800000001", area=world.areas["t0"])
    assert client.login(username=world.admin.username, password=PASSWORD)
    page = client.get(reverse("admin:outages_outage_change", args=[outage.pk])).content.decode()
    assert outage.number in page and "10kV城关线检修" in page and 'name="_save"' not in page
    assert client.get(reverse("admin:outages_outage_changelist")).status_code == 200
    assert client.get(reverse("admin:outages_outage_add")).status_code == 403
    assert client.get(reverse("admin:outages_outageevent_changelist")).status_code == 200
    assert client.get(reverse("admin:outages_subscription_changelist")).status_code == 200
    response = client.post(reverse("admin:outages_subscription_changelist"),
                           {"action": "cancel_selected", "_selected_action": [subscription.pk]})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert not subscription.active and subscription.cancelled_at == frozen()
    assert Subscription.objects.count() == 1
