"""D7i: a caller follows their order by its number and the last four
digits of a phone, without logging in; a wrong tail, an unknown number and
a report answer exactly alike."""

import datetime as dt

import pytest

from hotline.selfservice import throttle
from hotline.selfservice.tests.conftest import PROGRESS, api, result_html
from hotline.testing import handled
from hotline.workorders import services as orders

pytestmark = [pytest.mark.django_db, pytest.mark.rule("D7i")]


def repair(world, **kw):
    data = {"business_type": "repair", "sub_class": "lv", "description": "整栋楼停电，邻居家也没电",
            "fault_scope": "company", "customer_id": world.customers["zhang"].id, "caller_name": "张伟",
            "caller_phone": "13600001234"}
    data.update(kw)
    return orders.create_order(actor=world.agent, intake=orders.Intake(**data))


def report(world):
    return orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="report", sub_class="theft", description="邻居私拉电线窃电",
        customer_id=world.customers["zhang"].id, caller_name="张伟", caller_phone="13812345678",
        reporter={"id_number": "330102199001011234"}))


def act(order, action, actor, **payload):
    # A unit's resolve and reply carry the handling record its type asks.
    return orders.transition(order=order.number, action=action, actor=actor, payload=handled(order, action, payload))


def progress(client, number, tail):
    return api(client, PROGRESS, {"number": number, "phone_tail": tail})


def test_the_number_and_the_callers_or_the_accounts_phone_tail_give_the_progress(world, frozen, anonymous):
    order = repair(world)
    st = world.station_users[0]
    r = progress(anonymous, order.number, "1234")  # the caller's phone
    assert r.status_code == 200, r.content
    got = r.json()
    assert got["number"] == order.number and got["business_type"] == "故障报修"
    assert dt.datetime.fromisoformat(got["accepted_at"]) == order.created_at
    assert got["progress"]["state"] == "in_progress" and got["progress"]["state_label"] == "处理中"
    assert got["progress"]["last_step"]["kind"] == "dispatched"
    assert got["progress"]["last_step"]["label"] == "已派往处理单位"
    assert got["progress"]["estimated_restoration_at"] is None and got["master"] is None

    frozen.advance(minutes=10)
    act(order, "receive", st)
    act(order, "arrive", st)
    frozen.advance(minutes=5)
    act(order, "locate", st, note="10kV线路跌落式熔断器熔断")
    eta = frozen() + dt.timedelta(hours=2)
    act(order, "estimate", st, estimated_at=eta.isoformat())
    got = progress(anonymous, order.number.lower(), "5678").json()  # 张伟's own phone on the account
    assert got["progress"]["state_label"] == "现场处理中"
    step = got["progress"]["last_step"]
    assert step["label"] == "抢修人员已到达现场"
    assert dt.datetime.fromisoformat(step["at"]) == frozen() - dt.timedelta(minutes=5)
    assert dt.datetime.fromisoformat(got["progress"]["estimated_restoration_at"]) == eta

    frozen.advance(minutes=30)
    act(order, "resolve", st)
    page = anonymous.post("/self-service/orders/", {"number": order.number, "phone_tail": "1234"})
    html = result_html(page)
    assert page.status_code == 200 and order.number in html
    assert "处理完毕" in html and "故障报修" in html and frozen().strftime("%Y-%m-%d %H:%M") in html


def test_a_wrong_tail_an_unknown_number_and_a_report_answer_alike(world, frozen, anonymous):
    order = repair(world)
    secret = report(world)
    unknown = progress(anonymous, "GZ991231999", "1234")
    wrong = progress(anonymous, order.number, "0000")
    reported = progress(anonymous, secret.number, "5678")  # the reporter's right tail
    assert unknown.status_code == wrong.status_code == reported.status_code == 404
    assert unknown.content == wrong.content == reported.content
    assert unknown.json()["detail"] == "没有与该工单编号和电话尾号相符的工单。请核对后重试，或拨打95598。"

    pages = [result_html(anonymous.post("/self-service/orders/", {"number": n, "phone_tail": t}))
             for n, t in [("GZ991231999", "1234"), (order.number, "0000"), (secret.number, "5678")]]
    answers = [p.replace(n, "N") for p, n in zip(pages, ["GZ991231999", order.number, secret.number])]
    assert answers[0] == answers[1] == answers[2] and "没有与该工单编号" in answers[0]


def test_a_chase_up_of_a_report_is_not_found_either(world, frozen, anonymous):
    secret = report(world)
    chase = orders.chase_up(order=secret, actor=world.agent, note="催一下")
    assert progress(anonymous, chase.number, "5678").status_code == 404


def test_a_merged_order_shows_its_masters_progress(world, frozen, anonymous):
    master = repair(world)
    frozen.advance(minutes=1)
    sub = repair(world, customer_id=None, caller_name="邻居", caller_phone="13600002222",
                 service_area_id=world.areas["t0"].id, merge_into=master.number)
    st = world.station_users[0]
    act(master, "receive", st)
    act(master, "arrive", st)
    act(master, "locate", st, note="低压电缆故障")
    eta = frozen() + dt.timedelta(hours=1)
    act(master, "estimate", st, estimated_at=eta.isoformat())

    got = progress(anonymous, sub.number, "2222").json()
    assert got["number"] == sub.number and got["progress"]["state"] == "merged"
    assert got["progress"]["state_label"] == "与同一故障合并处理"
    assert got["master"]["state_label"] == "现场处理中"
    assert got["master"]["last_step"]["label"] == "抢修人员已到达现场"
    assert dt.datetime.fromisoformat(got["master"]["estimated_restoration_at"]) == eta
    assert master.number not in str(got)  # the other caller's order is not named

    act(master, "resolve", st)
    got = progress(anonymous, sub.number, "2222").json()
    assert got["progress"]["last_step"]["label"] == "处理完毕"  # passed on to the sub-order
    assert got["master"]["state_label"] == "已处理"
    html = result_html(anonymous.post("/self-service/orders/", {"number": sub.number, "phone_tail": "2222"}))
    assert 'id="master-progress"' in html and master.number not in html


def test_guessing_tails_locks_the_order_for_everyone_for_a_while(world, frozen, anonymous, settings):
    settings.HOTLINE = {**settings.HOTLINE, "PUBLIC_RATE": (0, 60)}  # the per-client limit is another test's
    order = repair(world)
    for tail in range(throttle.ORDER_FAILURE_LIMIT):
        assert progress(anonymous, order.number, f"{tail:04d}").status_code == 404
    # Now even the right tail answers "not found", from any address.
    locked = api(anonymous, PROGRESS, {"number": order.number, "phone_tail": "1234"}, REMOTE_ADDR="10.9.9.9")
    assert locked.status_code == 404
    assert progress(anonymous, "GZ991231999", "1234").content == locked.content
    frozen.advance(seconds=throttle.ORDER_LOCK_SECONDS)
    assert progress(anonymous, order.number, "1234").status_code == 200
