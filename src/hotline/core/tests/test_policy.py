"""Policy numbers an administrator changes without a deploy (spec D0a):
declared by the apps, validated, audited, in force in every process."""

import pytest

from hotline.core import policy
from hotline.core.models import AuditEntry, PolicySetting

pytestmark = pytest.mark.django_db


@pytest.mark.rule("D0a")
def test_an_administrator_changes_a_number_and_it_is_in_force_audited(world):
    assert policy.get("workorders.chase_spacing_minutes") == 5
    policy.set_value(key="workorders.chase_spacing_minutes", value="8", user=world.admin)
    assert policy.get("workorders.chase_spacing_minutes") == 8
    entry = AuditEntry.objects.get(action="policy_setting")
    assert entry.detail == {"key": "workorders.chase_spacing_minutes", "old": None, "new": 8} and entry.user == world.admin
    policy.reset(key="workorders.chase_spacing_minutes", user=world.admin)
    assert policy.get("workorders.chase_spacing_minutes") == 5 and not PolicySetting.objects.exists()


@pytest.mark.rule("D0a")
@pytest.mark.parametrize("key,raw,message", [
    ("workorders.chase_spacing_minutes", "five", "不是有效"),
    ("workorders.chase_spacing_minutes", "-1", "不能小于"),
    ("workorders.merge_fault_point", "township", "必须是"),
    ("outages.lead_minutes.planned", "99999999", "不能大于"),
    ("no.such.setting", "1", "未知"),
])
def test_a_bad_value_is_refused_in_the_users_language_and_nothing_changes(world, key, raw, message):
    with pytest.raises(policy.PolicyError, match=message):
        policy.set_value(key=key, value=raw, user=world.admin)
    assert not PolicySetting.objects.exists()


@pytest.mark.rule("D0a", "D1h")
def test_the_chase_up_spacing_follows_the_setting(world, frozen):
    from hotline.workorders import services
    from hotline.workorders.errors import TransitionError

    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="complaint", sub_class="service", description="营业厅态度差", customer_id=world.customers["li"].id))
    services.chase_up(order=order, actor=world.agent, note="客户催问")
    policy.set_value(key="workorders.chase_spacing_minutes", value="2", user=world.admin)
    frozen.advance(minutes=2)
    services.chase_up(order=order, actor=world.agent, note="又催")
    policy.set_value(key="workorders.chase_max_non_repair", value="2", user=world.admin)
    frozen.advance(minutes=3)
    with pytest.raises(TransitionError):
        services.chase_up(order=order, actor=world.agent, note="第三次")


def test_the_admin_lists_every_number_and_edits_one(world, client):
    from hotline.testing import PASSWORD

    world.admin.is_staff = world.admin.is_superuser = True
    world.admin.save()
    client.login(username=world.admin.username, password=PASSWORD)
    page = client.get("/admin/core/policysetting/").content.decode()
    assert "outages.lead_minutes.planned" in page and "10080" in page
    response = client.post("/admin/core/policysetting/add/", {"key": "outages.lead_minutes.delay", "value": "45"})
    assert response.status_code == 302
    assert policy.get("outages.lead_minutes.delay") == 45
    bad = client.post("/admin/core/policysetting/add/", {"key": "outages.lead_minutes.delay", "value": "abc"})
    assert bad.status_code == 200 and policy.get("outages.lead_minutes.delay") == 45
