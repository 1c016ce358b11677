"""The work-order pages: intake, my orders, the order page, the unit inbox,
the shift-leader board."""

import datetime as dt
import re

import pytest
from zoneinfo import ZoneInfo

from hotline.testing import handled
from hotline.timelimits.models import Notice, NoticeKind
from hotline.timelimits.services import sweep_until_idle
from hotline.workorders import services
from hotline.core.models import AuditEntry
from hotline.workorders.models import State, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

# English pages: the language cookie, as /i18n/setlang/ sets it (the
# browser's Accept-Language is ignored: the UI is Chinese unless chosen).
EN: dict = {}
HTMX = {"HTTP_HX_REQUEST": "true"}


def repair(world, **kw):
    data = dict(business_type="repair", sub_class="lv", description="家里停电了", customer_id=world.customers["zhang"].id,
                caller_phone="13812345678", fault_scope="company")
    data.update(kw)
    return services.create_order(actor=world.agent, intake=services.Intake(**data))


def intake_post(**kw):
    data = {"business_type": "repair", "sub_class": "lv", "priority": "normal", "fault_scope": "company",
            "caller_name": "张伟", "caller_phone": "13812345678", "address": "城关镇南街社区12号",
            "description": "整栋楼停电", "reply_wanted": "on"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


# --- access ---------------------------------------------------------------------

def test_pages_need_a_login(client, world):
    for url in ["/intake/", "/inbox/", "/board/", "/orders/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("url, allowed", [
    ("/intake/", {"agent", "leader", "director"}),
    ("/orders/", {"agent", "leader", "director"}),
    ("/board/", {"leader", "director"}),
    ("/inbox/", {"station"}),
])
def test_each_page_renders_for_its_roles_only(world, login, url, allowed):
    users = {"agent": world.agent, "leader": world.leader, "director": world.director, "station": world.station_users[0]}
    for name, user in users.items():
        status = login(user).get(url).status_code
        assert status == (200 if name in allowed else 403), (url, name, status)


def test_pages_carry_no_inline_script(world, login):
    # The content security policy allows scripts from the installation only.
    client = login(world.agent)
    order = repair(world)
    for url in ["/intake/", "/orders/", f"/orders/{order.number}/"]:
        html = client.get(url).content.decode()
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts and all(" src=" in s for s in scripts), url
        assert not re.search(r"\son[a-z]+=", html), url


# --- intake -------------------------------------------------------------------------

def test_customer_search_by_phone_and_choosing_fills_the_caller(world, login):
    client = login(world.agent)
    zhang = world.customers["zhang"]
    html = client.get("/intake/customers/", {"q": "138 1234 5678"}, **HTMX).content.decode()
    assert "张伟" in html and f"/intake/customers/{zhang.pk}/" in html
    html = client.get(f"/intake/customers/{zhang.pk}/", {"q": "138 1234 5678"}, **HTMX).content.decode()
    assert f'name="customer_id" value="{zhang.pk}"' in html
    assert 'id="caller-fields" hx-swap-oob="true"' in html
    assert 'value="张伟"' in html and 'value="138 1234 5678"' in html and 'value="城关镇南街社区12号"' in html
    assert f'name="service_area_id" value="{zhang.service_area_id}"' in html
    assert "城关供电所" in html  # the responsible unit


def test_choosing_a_customer_lists_their_orders(world, login):
    order = repair(world)
    html = login(world.agent2).get(f"/intake/customers/{world.customers['zhang'].pk}/", **HTMX).content.decode()
    assert order.number in html


def test_sub_classes_and_scope_follow_the_business_type(world, login):
    client = login(world.agent)
    repair_html = client.get("/intake/type-fields/", {"business_type": "repair"}, **HTMX).content.decode()
    assert 'value="lv"' in repair_html and 'name="fault_scope"' in repair_html and 'value="urgent"' in repair_html
    complaint_html = client.get("/intake/type-fields/", {"business_type": "complaint"}, **HTMX).content.decode()
    assert 'value="conduct"' in complaint_html and 'value="lv"' not in complaint_html
    assert 'name="fault_scope"' not in complaint_html and 'value="major"' in complaint_html


def test_address_finds_the_service_area(world, login):
    client = login(world.agent)
    html = client.get("/intake/area/", {"address": "东山乡桃园村5组"}, **HTMX).content.decode()
    assert f'name="service_area_id" value="{world.areas["v1"].pk}"' in html and "东山供电所" in html
    html = client.get("/intake/area/", {"address": "外省某地"}, **HTMX).content.decode()
    assert "service_area_id" not in html
    html = client.get("/intake/areas/", {"area_q": "西岭"}, **HTMX).content.decode()
    assert f"?id={world.areas['town2'].pk}" in html


def test_save_and_dispatch_creates_and_routes_the_order(world, login, frozen):
    client = login(world.agent)
    response = client.post("/intake/", intake_post(customer_id=world.customers["zhang"].pk))
    order = WorkOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
    assert order.state == State.DISPATCHED and order.assigned_unit == world.stations[0]
    assert order.owner == world.agent and order.customer == world.customers["zhang"] and order.priority == "normal"
    page = client.get(response["Location"]).content.decode()
    assert order.number in page and "城关供电所" in page


def test_caller_without_account_is_routed_by_the_address_area(world, login, frozen):
    client = login(world.agent)
    client.post("/intake/", intake_post(caller_phone="13900002222", address="西岭乡高山村7号",
                                        service_area_id=world.areas["v2"].pk))
    assert WorkOrder.objects.get().assigned_unit == world.stations[2]


def test_intake_error_is_shown_at_the_field_and_keeps_everything_typed(world, login, frozen, english):
    client = login(world.agent)
    data = intake_post(fault_scope=None, customer_id=world.customers["zhang"].pk, service_area_id=world.areas["t0"].pk,
                       description="变压器冒烟，整条街停电", caller_name="张先生", priority="urgent", anonymous="on")
    response = client.post("/intake/", data, **EN)
    html = response.content.decode()
    assert response.status_code == 400 and not WorkOrder.objects.exists()
    scope_at = html.index('class="field fault-scope')
    assert "has-error" in html[scope_at: scope_at + 60]
    assert scope_at < html.index("classify the fault scope of a repair report") < html.index('id="f-description"')
    for kept in ["变压器冒烟，整条街停电", 'value="张先生"', 'value="13812345678"', 'value="城关镇南街社区12号"',
                 f'name="customer_id" value="{world.customers["zhang"].pk}"', f'name="service_area_id" value="{world.areas["t0"].pk}"']:
        assert kept in html, kept
    assert re.search(r'value="lv"\s+selected', html) and re.search(r'value="urgent"\s+selected', html)
    assert re.search(r'name="anonymous"\s+checked', html)


def test_intake_service_error_is_translated(world, login, frozen):
    html = login(world.agent).post("/intake/", intake_post(description="")).content.decode()
    assert "请描述来电诉求" in html


def test_intake_error_with_values_is_shown_in_chinese_at_its_field(world, login, frozen):
    html = login(world.agent).post("/intake/", intake_post(sub_class="zzz")).content.decode()
    assert not WorkOrder.objects.exists()
    error_at = html.index("“zzz”不是故障报修的业务子类，请重新选择")
    assert html.index('class="err"', error_at - 200) < error_at and "is not a sub-class" not in html
    html = login(world.agent).post("/intake/", intake_post(caller_phone="12", address="城关镇")).content.decode()
    assert "手机号码应为11位：12" in html


def test_phone_error_lands_on_the_phone_field(world, login, frozen, english):
    html = login(world.agent).post("/intake/", intake_post(caller_phone="12", address="城关镇"), **EN).content.decode()
    assert '<label class="field has-error">Caller phone' in html
    error_at = html.index('<span class="err">')
    assert html.index('id="f-caller_phone"') < error_at < html.index('id="f-address"')
    assert not WorkOrder.objects.exists()


def test_unit_staff_cannot_record_orders(world, login):
    response = login(world.station_users[0]).post("/intake/", intake_post())
    assert response.status_code == 403 and not WorkOrder.objects.exists()


# --- my orders -------------------------------------------------------------------------

def test_my_orders_lists_only_mine_with_state_filter_and_pages(world, login, frozen):
    mine = []
    for _ in range(3):
        mine.append(repair(world))
        frozen.advance(minutes=1)
    other = services.create_order(actor=world.agent2, intake=services.Intake(
        business_type="repair", sub_class="lv", description="x", caller_phone="13900001111", fault_scope="company"))
    services.transition(order=mine[0], action="receive", actor=world.station_users[0])
    client = login(world.agent)
    html = client.get("/orders/").content.decode()
    assert all(o.number in html for o in mine) and other.number not in html
    html = client.get("/orders/", {"state": "received"}).content.decode()
    assert mine[0].number in html and mine[1].number not in html
    html = client.get("/orders/", {"state": "nonsense"}).content.decode()
    assert mine[1].number in html
    for _ in range(25):
        frozen.advance(minutes=1)
        repair(world)
    page2 = client.get("/orders/", {"page": 2}).content.decode()
    assert mine[0].number in page2 and "page=1" in page2


# --- order page ------------------------------------------------------------------------

def test_order_page_shows_clocks_timeline_and_the_users_actions(world, login, frozen, english):
    order = repair(world)
    html = login(world.agent).get(f"/orders/{order.number}/", **EN).content.decode()
    assert "13812345678" in html
    for text in ["Dispatch", "Unit accepts", "Arrival on site", "Restoration", "Accepted", "城关供电所"]:
        assert text in html, text
    assert 'data-action="cancel"' in html and 'data-action="receive"' not in html
    station_html = login(world.station_users[0]).get(f"/orders/{order.number}/").content.decode()
    assert "138****5678" in station_html and "13812345678" not in station_html
    assert 'data-action="receive"' in station_html and 'data-action="return"' in station_html
    assert 'data-action="cancel"' not in station_html


def test_order_of_another_unit_is_not_found(world, login, frozen):
    order = repair(world)
    assert login(world.station_users[1]).get(f"/orders/{order.number}/").status_code == 404
    assert login(world.marketing_user).get(f"/orders/{order.number}/").status_code == 404
    assert login(world.agent).get("/orders/GZ000000000/").status_code == 404


def test_a_unit_cannot_act_on_another_units_order_through_the_views(world, login, frozen):
    order = repair(world)
    before = WorkOrderEvent.objects.count()
    client = login(world.station_users[1])
    assert client.post(f"/orders/{order.number}/act/", {"action": "receive"}).status_code == 404
    assert client.post(f"/inbox/{order.number}/act/", {"action": "receive"}, **HTMX).status_code == 404
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and WorkOrderEvent.objects.count() == before


def test_action_not_allowed_for_the_role_is_refused_with_its_reason(world, login, frozen, english):
    order = repair(world)
    response = login(world.agent).post(f"/orders/{order.number}/act/", {"action": "receive"}, **EN)
    assert response.status_code == 403 and "only the handling unit" in response.content.decode()
    response = login(world.station_users[0]).post(f"/orders/{order.number}/act/", {"action": "resolve"})
    assert response.status_code == 409
    order.refresh_from_db()
    assert order.state == State.DISPATCHED


def test_cancel_needs_a_reason_and_keeps_the_form(world, login, frozen):
    order = repair(world)
    client = login(world.agent)
    response = client.post(f"/orders/{order.number}/act/", {"action": "cancel", "reason": ""})
    assert response.status_code == 400 and 'data-action="cancel"' in response.content.decode()
    response = client.post(f"/orders/{order.number}/act/", {"action": "cancel", "reason": "客户已自行恢复"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.CANCELLED
    assert "客户已自行恢复" in client.get(f"/orders/{order.number}/").content.decode()


def test_callback_with_outcome_and_note_through_the_order_page(world, login, frozen, english):
    order = repair(world)
    for action in ["receive", "arrive", "resolve", "reply"]:
        order = services.transition(order=order, action=action, actor=world.station_users[0], payload=handled(order, action))
    client = login(world.agent)
    assert client.post(f"/orders/{order.number}/act/", {"action": "review"}).status_code == 302
    bad = client.post(f"/orders/{order.number}/act/", {"action": "callback", "outcome": "satisfied", "note": ""})
    assert bad.status_code == 400
    ok = client.post(f"/orders/{order.number}/act/", {"action": "callback", "outcome": "satisfied", "note": "客户说：很满意"})
    assert ok.status_code == 302
    html = client.get(f"/orders/{order.number}/", **EN).content.decode()
    assert "Satisfied" in html and "客户说：很满意" in html


def test_redispatch_to_a_picked_unit(world, login, frozen):
    order = repair(world)
    services.transition(order=order, action="return", actor=world.station_users[0], payload={"reason": "outside_area"})
    client = login(world.agent)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert f'value="{world.stations[1].pk}"' in page
    client.post(f"/orders/{order.number}/act/", {"action": "redispatch", "unit_id": world.stations[1].pk})
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and order.assigned_unit == world.stations[1]


def test_chase_up_from_the_order_page(world, login, frozen, english):
    order = repair(world)
    client = login(world.agent)
    response = client.post(f"/orders/{order.number}/chase-up/", {"note": "客户催问何时到"})
    assert response.status_code == 302
    chase = WorkOrder.objects.get(chased_order=order)
    assert chase.business_type.code == "chase_up" and chase.assigned_unit == world.stations[0]
    again = client.post(f"/orders/{order.number}/chase-up/", {"note": "又催"}, **EN)
    assert again.status_code == 409 and "5 minutes apart" in again.content.decode()
    assert login(world.station_users[0]).post(f"/orders/{order.number}/chase-up/", {"note": "x"}).status_code == 403


def test_reporter_identity_only_behind_an_audited_button(world, login, frozen):
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="report", sub_class="theft", description="有人私拉电线", caller_name="匿名群众", caller_phone="13700001234"))
    agent_html = login(world.agent).get(f"/orders/{order.number}/").content.decode()
    assert "13700001234" not in agent_html and "/reporter/" not in agent_html
    assert login(world.agent).post(f"/orders/{order.number}/reporter/").status_code == 403
    client = login(world.director)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "/reporter/" in page and "13700001234" not in page
    assert not AuditEntry.objects.filter(action="view_reporter").exists()
    html = client.post(f"/orders/{order.number}/reporter/", **HTMX).content.decode()
    assert "13700001234" in html and "匿名群众" in html
    assert AuditEntry.objects.filter(action="view_reporter", user=world.director, object_id=str(order.pk)).count() == 1


# --- unit inbox ---------------------------------------------------------------------------

def test_inbox_lists_the_units_orders_and_polls(world, login, frozen):
    mine = repair(world)
    theirs = repair(world, customer_id=world.customers["li"].id, caller_phone="0571-87654321")
    html = login(world.station_users[0]).get("/inbox/").content.decode()
    assert mine.number in html and theirs.number not in html
    assert 'hx-trigger="every 15s"' in html and "138****5678" in html
    partial = login(world.station_users[0]).get("/inbox/", **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="inbox-live"') and "<html" not in partial


def test_inbox_quick_actions_walk_a_repair_to_resolved(world, login, frozen):
    order = repair(world)
    client = login(world.station_users[0])
    # A repair's resolve and reply carry its handling record (record-<item>).
    record = {"resolve": {"record-cause": "equipment_ageing", "record-measures": "更换低压熔断器"},
              "reply": {"record-customer_opinion": "satisfied"}}
    for action, state in [("receive", State.RECEIVED), ("arrive", State.ON_SITE), ("resolve", State.RESOLVED)]:
        frozen.advance(minutes=2)
        response = client.post(f"/inbox/{order.number}/act/", {"action": action, **record.get(action, {})}, **HTMX)
        assert response.status_code == 200
        order.refresh_from_db()
        assert order.state == state
        assert 'id="inbox-live"' in response.content.decode()
    html = client.post(f"/inbox/{order.number}/act/", {"action": "reply", **record["reply"]}).status_code
    assert html == 302
    order.refresh_from_db()
    assert order.state == State.REPLIED
    assert f"/orders/{order.number}/" not in client.get("/inbox/").content.decode()


@pytest.mark.rule("D3.6b")
def test_the_crew_reports_the_fault_point_and_the_estimate_from_the_inbox(world, login, frozen):
    order = repair(world)
    client = login(world.station_users[0])
    for action in ("receive", "arrive"):
        client.post(f"/inbox/{order.number}/act/", {"action": action}, **HTMX)
    html = client.get("/inbox/").content.decode()
    assert 'name="estimated_at"' in html and "故障点已查明" in html
    client.post(f"/inbox/{order.number}/act/", {"action": "locate", "note": "10kV线路熔断器熔断"}, **HTMX)
    bad = client.post(f"/inbox/{order.number}/act/", {"action": "estimate", "estimated_at": "明天"}, **HTMX).content.decode()
    assert "row-error" in bad and "请填写日期和时间" in bad
    ahead = (frozen() + dt.timedelta(hours=2)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/inbox/{order.number}/act/", {"action": "estimate", "estimated_at": ahead}, **HTMX)
    order.refresh_from_db()
    assert order.estimated_restoration_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M") == ahead
    page = login(world.agent).get(f"/orders/{order.number}/").content.decode()
    assert "预计恢复送电" in page


def test_inbox_return_needs_an_allowed_reason(world, login, frozen):
    order = repair(world)
    client = login(world.station_users[0])
    html = client.post(f"/inbox/{order.number}/act/", {"action": "return", "reason": "不想去"}, **HTMX).content.decode()
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and "row-error" in html
    client.post(f"/inbox/{order.number}/act/", {"action": "return", "reason": "outside_area"}, **HTMX)
    order.refresh_from_db()
    assert order.state == State.RETURNED


def test_inbox_action_without_a_reason_is_refused_in_the_users_language(world, login, frozen):
    order = repair(world)
    client = login(world.station_users[0])
    html = client.post(f"/inbox/{order.number}/act/", {"action": "return", "reason": ""}, **HTMX).content.decode()
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and "row-error" in html
    assert "退单须填写原因" in html and "needs a reason" not in html
    client.cookies["django_language"] = "en"
    html = client.post(f"/inbox/{order.number}/act/", {"action": "return", "reason": ""}, **HTMX).content.decode()
    assert "“Return” needs a reason" in html


def test_order_page_refusal_is_shown_in_chinese(world, login, frozen):
    order = repair(world)
    response = login(world.agent).post(f"/orders/{order.number}/act/", {"action": "close"})
    assert response.status_code == 409 and "工单当前状态为“已派单”，不能执行“归档”" in response.content.decode()
    client = login(world.agent)
    client.post(f"/orders/{order.number}/chase-up/", {"note": "客户催问何时到"})
    again = client.post(f"/orders/{order.number}/chase-up/", {"note": "又催"})
    assert again.status_code == 409 and "同一客户两次催办须间隔5分钟，请300秒后再试" in again.content.decode()


def test_supervision_notice_reaches_inbox_and_board_and_is_answered(world, login, frozen, english):
    order = repair(world)
    frozen.advance(minutes=10)  # accept limit 3 min: past it
    sweep_until_idle()
    notice = Notice.objects.get(order=order, kind=NoticeKind.SUPERVISION, metric="accept", level=1)
    board = login(world.leader).get("/board/", **EN).content.decode()
    assert order.number in board and "overdue" in board and 'hx-trigger="every 10s"' in board
    assert "Level 1" in board
    client = login(world.station_users[0])
    html = client.get("/inbox/").content.decode()
    assert f"/inbox/notices/{notice.pk}/answer/" in html
    assert login(world.station_users[1]).post(f"/inbox/notices/{notice.pk}/answer/", {"answer": "x"}).status_code == 404
    client = login(world.station_users[0])
    client.post(f"/inbox/notices/{notice.pk}/answer/", {"answer": "人员已出发"}, **HTMX)
    notice.refresh_from_db()
    assert notice.answer == "人员已出发" and notice.answered_by == world.station_users[0]
    assert f"/inbox/notices/{notice.pk}/answer/" not in client.get("/inbox/").content.decode()


def test_board_sorts_by_due_time_and_colours_near_limits(world, login, frozen):
    early = repair(world)
    frozen.advance(minutes=1)
    late = repair(world, customer_id=world.customers["li"].id, caller_phone="0571-87654321")
    frozen.advance(minutes=2, seconds=30)  # early's accept clock overdue, late's warned
    sweep_until_idle()
    html = login(world.leader).get("/board/", **HTMX).content.decode()
    assert html.index(early.number) < html.index(late.number)
    assert "tone-overdue" in html and "tone-warn" in html
    assert "<html" not in html


def test_a_deadline_not_today_shows_its_date_and_overdue_reads_in_days_and_hours(world):
    from hotline.workorders.templatetags.workorders_tags import deadline, overdue_text

    now = dt.datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert deadline(now + dt.timedelta(hours=3), now)["text"] == "13:00"
    assert deadline(now + dt.timedelta(days=2), now)["text"] == "06-03 10:00"
    assert deadline(now + dt.timedelta(days=300), now)["text"] == "2027-03-28 10:00"
    late = deadline(now - dt.timedelta(days=6, hours=3, minutes=20), now)
    assert (late["text"], late["tone"], late["title"]) == ("超时 6 天 3 小时", "overdue", "05-26 06:40")
    assert overdue_text(25 * 60 + 30) == "超时 25 分钟"
    assert overdue_text(3 * 3600 + 5 * 60) == "超时 3 小时 5 分钟"
    assert deadline(None, now)["text"] == "—"


def test_the_inbox_shows_how_long_an_order_is_overdue(world, login, frozen):
    repair(world)
    frozen.advance(hours=2)
    html = login(world.station_users[0]).get("/inbox/").content.decode()
    assert "超时 1 小时 57 分钟" in html  # the accept limit (3 min) passed 1 h 57 min ago


def test_the_inspector_searches_orders_without_a_link_to_a_list_it_may_not_open(world, login):
    from hotline.organisation import services as org
    from hotline.organisation.models import Role
    from hotline.testing import PASSWORD

    inspector = org.create_user(username="t-inspector", password=PASSWORD, role=Role.INSPECTOR, unit=world.center,
                                display_name="质检员")
    client = login(inspector)
    page = client.get("/orders/search/").content.decode()
    assert 'href="/orders/"' not in page
    assert client.get("/orders/").status_code == 403
    assert 'href="/orders/"' in login(world.agent).get("/orders/search/").content.decode()
