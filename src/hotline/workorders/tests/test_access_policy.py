"""The access policy's functions on their own (workorders.access): what
mutation testing (scripts/mutation, docs/testing.md) showed the page and
API tests left unchecked — superusers of any role, the exact fields of an
order's view per role, payloads with phones, and what a reveal holds."""

from __future__ import annotations

import pytest

from hotline.core.models import AuditEntry
from hotline.organisation import services as org
from hotline.organisation.models import Role, User
from hotline.workorders import access, services
from hotline.workorders.errors import NotAllowed

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def repair(world, **kw):
    customer = world.customers["zhang"]
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", fault_scope="company", customer_id=customer.id,
        caller_name="张先生", caller_phone=PHONE, **kw))
    order.caller_phone_ext = "8"  # as a switchboard extension arrives from the call
    order.save(update_fields=["caller_phone_ext"])
    return order


def report(world):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="report", sub_class="theft", description="邻居私拉电线窃电", customer_id=world.customers["zhang"].id,
        caller_name="张伟", caller_phone=PHONE, reporter={"id_number": "330102199001011234"}))


def fresh(user: User) -> User:
    return User.objects.select_related("unit").get(pk=user.pk)


@pytest.mark.rule("N4a", "N4b", "N4f")
def test_a_superuser_of_any_role_is_an_administrator_and_an_administrator_need_not_be_a_superuser(world, frozen):
    order = repair(world)
    root_staff = org.create_user(username="t-root-staff", password="x", role=Role.UNIT_STAFF, unit=world.stations[1],
                                 is_superuser=True)
    plain_admin = org.create_user(username="t-plain-admin", password="x", role=Role.AGENT, unit=None)
    plain_admin.role = Role.ADMIN  # the role alone, without the superuser flag
    plain_admin.save()
    for user in (root_staff, plain_admin):
        assert access.order_scope(user) is None and access.visible_orders(user).filter(pk=order.pk).exists()
        assert access.can_act(user, order, "unit") is None and access.can_act(user, order, "leader") is None
        assert access.visible_customers(user).count() == 3
        assert access.can_see_reporter(user, order)
    # A superuser needs no full-number mask whatever the role on the account.
    assert not access.masks_phones(root_staff) and access.mask_phone(root_staff, PHONE) == PHONE


@pytest.mark.rule("N4a", "N4b")
def test_the_scope_condition_reads_through_a_relation(world, frozen):
    from hotline.timelimits.models import Clock

    order = repair(world)
    station, sibling = fresh(world.station_users[0]), fresh(world.station_users[1])
    own_clocks = Clock.objects.filter(access.order_scope(station, through="order__"))
    assert own_clocks.exists() and set(own_clocks.values_list("order_id", flat=True)) == {order.pk}
    assert not Clock.objects.filter(access.order_scope(sibling, through="order__")).exists()
    assert Clock.objects.filter(access.order_scope(fresh(world.agent), through="order__")).exists()  # scoped to the center


@pytest.mark.rule("N4b")
def test_a_center_without_a_county_above_sees_the_customers_below_itself_only(world):
    lone = org.create_unit(name="独立中心", code="t-lone", kind="center")
    agent = org.create_user(username="t-lone-agent", password="x", role=Role.AGENT, unit=lone)
    nowhere = org.create_customer(account_number="t0099", name="赵无区", address="外省", phone_numbers=["13900009999"])
    assert set(access.visible_customers(agent).values_list("id", flat=True)) == {nowhere.id}


@pytest.mark.rule("N4f")
def test_mask_phone_of_nothing_is_empty_for_everyone(world):
    for user in (world.station_users[0], world.agent):
        assert access.mask_phone(user, "") == "" and access.mask_phone(user, None) == ""


@pytest.mark.rule("N4f", "D4d")
def test_an_orders_view_per_role_field_by_field(world, frozen):
    order = repair(world)
    zhang = world.customers["zhang"]
    assert access.order_view(world.agent, order) == {
        "reporter_hidden": False, "customer": zhang, "customer_id": zhang.id, "customer_name": "张伟",
        "account_number": "t0001", "caller_name": "张先生", "caller_phone": PHONE, "caller_phone_ext": "8",
        "address": order.address}
    station_view = access.order_view(world.station_users[0], order)
    assert (station_view["caller_phone"], station_view["caller_phone_ext"]) == ("138****5678", "")
    assert station_view["customer_name"] == "张伟" and station_view["address"] == order.address
    walk_in = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", fault_scope="company", caller_phone=PHONE))
    assert {k: v for k, v in access.order_view(world.agent, walk_in).items() if k.startswith("customer") or k == "account_number"} == {
        "customer": None, "customer_id": None, "customer_name": "", "account_number": ""}
    hidden = access.order_view(world.director, report(world))
    assert hidden == {"reporter_hidden": True, "customer": None, "customer_id": None, "customer_name": "",
                      "account_number": "", "caller_name": "", "caller_phone": "", "caller_phone_ext": "", "address": ""}


@pytest.mark.rule("N4f", "D4d", "N4d")
def test_event_payloads_mask_both_phone_keys_and_leave_other_values_alone(world, frozen):
    plain, secret = repair(world), report(world)
    payload = {"phone": PHONE, "caller_phone": "057187654321-12", "count": 3, "note": PHONE, "customer_id": 5}
    assert access.event_payload(world.station_users[0], plain, payload) == {
        "phone": "138****5678", "caller_phone": "0571****4321", "count": 3, "note": PHONE, "customer_id": 5}
    assert access.event_payload(world.agent, plain, payload) == payload
    assert access.event_payload(world.agent, plain, {"phone": None}) == {"phone": None}  # not a text: left alone
    assert access.event_payload(world.agent, secret, payload) == {"count": 3, "note": PHONE}
    # The caller may say what it knows, either way.
    assert access.event_payload(world.agent, plain, payload, restricted=True) == {"count": 3, "note": PHONE}
    assert access.event_payload(world.agent, secret, payload, restricted=False) == payload
    assert access.event_payload(world.agent, plain, None) == {}


@pytest.mark.rule("D4d", "N4d", "N4e")
def test_what_a_reveal_holds_and_what_the_audit_says(world, frozen):
    order = report(world)
    director = fresh(world.director)
    revealed = access.reveal_reporter(director, order)
    assert (revealed.name, revealed.phone, revealed.id_number, revealed.customer_id, revealed.customer_name,
            revealed.account_number, revealed.address) == (
        "张伟", PHONE, "330102199001011234", world.customers["zhang"].id, "张伟", "t0001", order.address)
    entry = AuditEntry.objects.get(action="view_reporter")
    assert (entry.user_id, entry.object_id, entry.detail) == (
        director.pk, str(order.pk), {"number": order.number, "via": "page"})
    assert access.can_reveal(director, order) and not access.can_reveal(director, repair(world))
    assert not access.can_reveal(fresh(world.leader), order)
    with pytest.raises(NotAllowed):  # not a report: nothing to reveal, nothing audited
        access.reveal_reporter(director, repair(world))
    assert AuditEntry.objects.filter(action="view_reporter").count() == 1


def test_a_reporter_is_something_when_any_part_of_it_is_known():
    empty = access.Reporter(name="", phone="", id_number="", customer_id=None, customer_name="", account_number="",
                            address="")
    assert not empty
    for part in ({"name": "张伟"}, {"phone": PHONE}, {"id_number": "1"}, {"customer_id": 1}, {"address": "南街"}):
        assert access.Reporter(**{**empty.__dict__, **part})


@pytest.mark.rule("D4d", "N4d")
def test_a_chase_up_read_fresh_is_restricted_as_its_report_and_one_of_a_repair_is_not(world, frozen):
    from hotline.workorders.models import WorkOrder

    secret, plain = report(world), repair(world)
    chases = [services.chase_up(order=secret, actor=world.agent, note="催问进展")]
    frozen.advance(minutes=5)  # chase-ups of one customer are 5 minutes apart (D1)
    chases.append(services.chase_up(order=plain, actor=world.agent, note="催问进展"))
    fresh_chases = [WorkOrder.objects.get(pk=c.pk) for c in chases]  # the chased order not loaded with it
    assert [access.is_restricted(c) for c in fresh_chases] == [True, False]


@pytest.mark.rule("D4d", "N4d", "N4e")
def test_a_reveal_without_a_recorded_identity_or_customer_shows_nothing_made_up(world, frozen):
    from hotline.workorders.models import ReporterIdentity

    walk_in = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="report", sub_class="theft", description="举报窃电", caller_phone=PHONE))
    ReporterIdentity.objects.filter(order=walk_in).delete()  # an order from before identities were recorded
    revealed = access.reveal_reporter(fresh(world.director), walk_in)
    assert (revealed.name, revealed.phone, revealed.id_number, revealed.customer_id, revealed.customer_name,
            revealed.account_number) == ("", "", "", None, "", "")
    with pytest.raises(NotAllowed) as refused:
        access.reveal_reporter(fresh(world.leader), walk_in)
    assert str(refused.value) == "您无权查看举报人身份"
