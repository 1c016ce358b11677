"""Users, roles, units, service areas and tokens edited in the Django admin
are in the audit trail with before and after (issue 7 item 8)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hotline.catalog.tests.admin_form import post_form
from hotline.core.models import AuditEntry
from hotline.organisation.models import Role, Unit, User
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world):
    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    return c


def test_a_role_unit_and_active_change_of_a_user_is_audited_with_before_and_after(world, admin_client):
    agent = world.agent
    url = reverse("admin:organisation_user_change", args=[agent.pk])
    r = post_form(admin_client, url, {"role": Role.SHIFT_LEADER, "unit": str(world.county.pk), "is_active": None})
    assert r.status_code == 302, r.content[:3000]
    agent.refresh_from_db()
    assert (agent.role, agent.unit, agent.is_active) == (Role.SHIFT_LEADER, world.county, False)
    entry = AuditEntry.objects.get(action="user_change", object_id=str(agent.pk))
    assert entry.user == world.admin
    changes = entry.detail["changes"]
    assert changes["role"] == {"before": "agent", "after": "shift_leader"}
    assert changes["unit"] == {"before": {"id": world.center.pk, "name": world.center.name},
                               "after": {"id": world.county.pk, "name": world.county.name}}
    assert changes["is_active"] == {"before": True, "after": False}
    assert set(changes) == {"role", "unit", "is_active"}
    assert "password" not in str(entry.detail)


def test_adding_a_user_and_setting_a_password_are_audited(world, admin_client):
    r = admin_client.post(reverse("admin:organisation_user_add"), {
        "username": "newagent", "password1": "Long-enough-pw-42", "password2": "Long-enough-pw-42", "usable_password": "true",
        "role": Role.AGENT, "unit": str(world.center.pk), "display_name": "新座席", "agent_number": "1099",
    })
    assert r.status_code == 302, r.content[:3000]
    user = User.objects.get(username="newagent")
    entry = AuditEntry.objects.get(action="user_add", object_id=str(user.pk))
    assert entry.detail["changes"]["role"]["after"] == "agent"
    assert entry.detail["changes"]["unit"]["after"]["id"] == world.center.pk
    r = admin_client.post(reverse("admin:auth_user_password_change", args=[user.pk]), {"password1": "Another-long-pw-43", "password2": "Another-long-pw-43", "usable_password": "true"})
    assert r.status_code == 302, r.content[:3000]
    assert AuditEntry.objects.filter(action="user_password_set", object_id=str(user.pk), user=world.admin).count() == 1


def test_a_unit_edit_move_and_delete_are_audited(world, admin_client):
    station = world.stations[2]
    url = reverse("admin:organisation_unit_change", args=[station.pk])
    r = post_form(admin_client, url, {"name": "西岭中心供电所", "parent": str(world.city.pk), "active": None})
    assert r.status_code == 302, r.content[:3000]
    station.refresh_from_db()
    # The rename is kept even though the move writes only the parent.
    assert (station.name, station.parent, station.active) == ("西岭中心供电所", world.city, False)
    assert station.path.startswith(world.city.path)
    changes = AuditEntry.objects.get(action="unit_change", object_id=str(station.pk)).detail["changes"]
    assert changes["name"] == {"before": "西岭供电所", "after": "西岭中心供电所"}
    assert changes["parent"]["before"]["id"] == world.county.pk and changes["parent"]["after"]["id"] == world.city.pk
    assert changes["active"] == {"before": True, "after": False}
    spare = Unit.objects.create(name="临时班组", code="spare", kind="crew", parent=world.stations[0], path="", depth=0)
    r = admin_client.post(reverse("admin:organisation_unit_delete", args=[spare.pk]), {"post": "yes"})
    assert r.status_code == 302
    assert not Unit.objects.filter(pk=spare.pk).exists()
    entry = AuditEntry.objects.get(action="unit_delete", object_id=str(spare.pk))
    assert (entry.user, entry.detail["was"]["name"]) == (world.admin, "临时班组")


def test_a_service_area_class_change_is_audited(world, admin_client):
    area = world.areas["v1"]
    url = reverse("admin:organisation_servicearea_change", args=[area.pk])
    r = post_form(admin_client, url, {"area_class": "remote"})
    assert r.status_code == 302, r.content[:3000]
    entry = AuditEntry.objects.get(action="servicearea_change", object_id=str(area.pk))
    assert entry.detail["changes"] == {"area_class": {"before": "rural", "after": "remote"}}
