"""The admin in Chinese: events not placed with their reason (C1i), calls
read-only, a source's token issued once, an agent identity placing the
agent's waiting events."""

import pytest
from django.urls import reverse

from hotline.calls import services
from hotline.calls.adapters import asterisk_queue_log as ql
from hotline.calls.models import AgentIdentity, Call, CallEvent, EventSource, Placement
from hotline.calls.tests.conftest import FIXTURES
from hotline.testing import PASSWORD, english_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world, client):
    assert client.login(username=world.admin.username, password=PASSWORD)
    return client


@pytest.mark.rule("C1i", "C5g")
def test_unplaced_events_show_with_their_reason(world, queue_log_source, admin_client):
    ql.import_file(queue_log_source, str(FIXTURES / "queue_log_day.txt"))
    url = reverse("admin:calls_callevent_changelist")
    page = admin_client.get(url, {"state__exact": "unplaced"}).content.decode()
    for reason in ("此前没有该通话的排队记录", "适配器不认识的事件", "无法读取的行或数据", "交换机自身的记录，不属于任何通话或座席"):
        assert reason in page
    waiting = CallEvent.objects.get(reason="no_call")
    detail = admin_client.get(reverse("admin:calls_callevent_change", args=[waiting.pk])).content.decode()
    assert "COMPLETECALLER" in detail and 'name="_save"' not in detail
    call = Call.objects.get(call_id="c2")
    detail = admin_client.get(reverse("admin:calls_call_change", args=[call.pk])).content.decode()
    assert "SIP/1002" in detail and "未应答" in detail
    assert admin_client.get(reverse("admin:calls_call_add")).status_code == 403
    for name in ("call", "agentstate", "agentstateevent", "logcursor", "eventsource", "agentidentity"):
        response = admin_client.get(reverse(f"admin:calls_{name}_changelist"))
        assert response.status_code == 200, name
        assert english_words(response.content.decode(), allow={"agent", "repair"}) == [], name


def test_a_source_token_is_shown_once(world, http_source, admin_client):
    response = admin_client.post(reverse("admin:calls_eventsource_changelist"),
                                 {"action": "issue_token", "_selected_action": [http_source.pk]}, follow=True)
    page = response.content.decode()
    http_source.refresh_from_db()
    assert http_source.token_prefix and http_source.token_prefix in page
    key = page.split("（仅显示这一次）：")[1].split("<")[0].strip()
    assert services.source_for_token(key) == http_source
    assert EventSource.objects.get(pk=http_source.pk).token_hash != key


@pytest.mark.rule("C1i")
def test_an_identity_added_in_the_admin_places_the_agent(world, queue_log_source, admin_client):
    ql.import_file(queue_log_source, str(FIXTURES / "queue_log_day.txt"))
    assert Call.objects.get(call_id="c13").agent is None
    response = admin_client.post(reverse("admin:calls_agentidentity_add"), {
        "source": queue_log_source.pk, "agent_ref": "SIP/1009", "user": world.agent2.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AgentIdentity.objects.get(agent_ref="SIP/1009").user == world.agent2
    assert Call.objects.get(call_id="c13").agent == world.agent2
    assert not CallEvent.objects.filter(reason="unknown_agent").exists()


def test_retry_now_from_the_admin(world, http_source, admin_client):
    from hotline.calls.tests.events import ev

    services.ingest(http_source, [ev("agent.login", 0, agent="desk-9", queue="95598")])
    row = CallEvent.objects.get()
    AgentIdentity.objects.create(source=http_source, agent_ref="desk-9", user=world.agent)
    response = admin_client.post(reverse("admin:calls_callevent_changelist"),
                                 {"action": "retry_now", "_selected_action": [row.pk]}, follow=True)
    assert "已归入 1 个事件" in response.content.decode()
    assert CallEvent.objects.get().state == Placement.PLACED
