"""Work-order pages: intake, my orders, the order page, the unit inbox and
the shift-leader board. Views parse input, call a service or selector and
render; every rule is in the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from hotline.core import clock, phones
from hotline.organisation.decorators import roles_required
from hotline.organisation.models import CENTER_ROLES, Role
from hotline.organisation.selectors import area_for_address, find_service_areas
from hotline.timelimits.services import NoticeError, answer_notice
from hotline.workorders import access, handling, intake_check, labels, selectors, services
from hotline.workorders.forms import (BOARD_SORT_CHOICES, BOARD_TONE_CHOICES, OVERDUE_CHOICES, SORT_CHOICES, ActionForm, AnswerForm,
                                      BoardActionForm, BoardForm, IntakeForm, NoteForm, SearchForm, add_service_error)
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.workorders.models import Channel, State, WorkOrder

BOARD_ROLES = (Role.SHIFT_LEADER, Role.DIRECTOR)
# Who searches the orders of their scope: the center's roles, inspectors
# (who score them) and experts (who answer what agents cannot).
SEARCH_ROLES = (*sorted(CENTER_ROLES), Role.INSPECTOR, Role.EXPERT)
# Quick actions offered on an inbox row, in life-cycle order.
INBOX_ACTIONS = ("receive", "arrive", "locate", "estimate", "progress", "resolve", "reply", "return")
INBOX_LIMIT = 100
PAGE_SIZE = 25
# Rows (and notices) per board page: readable, and rendered well within 200 ms.
BOARD_PAGE = 25


def _service_message(exc: Exception) -> str:
    # The services raise their messages already in the request's language;
    # without the field name an OrderError or NoticeError carries.
    return exc.message if isinstance(exc, (OrderError, NoticeError)) else str(exc)


# --- intake -----------------------------------------------------------------------

def _intake_context(request: HttpRequest, form: IntakeForm) -> dict:
    value = form.data.get if form.is_bound else form.initial.get
    business_type = selectors.intake_type(value("business_type") or "")
    customer = selectors.customer(request.user, _int(value("customer_id")))
    area = selectors.service_area(_int(value("service_area_id")))
    return {
        "form": form,
        "types": selectors.intake_types(),
        "business_type": business_type,
        "sub_classes": selectors.sub_classes(business_type),
        "fault_scopes": labels.FAULT_SCOPES,
        "customer": customer,
        "customer_orders": selectors.customer_orders(request.user, customer) if customer else [],
        "area": area,
        # An address typed that no service area matches: the agent confirms the desk.
        "looked_up": area is None and bool((value("address") or "").strip()) or "desk_fallback" in form.errors,
        "desk_fallback": bool(value("desk_fallback")),
    }


def _int(raw) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


@roles_required(*CENTER_ROLES)
def intake(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = IntakeForm(request.POST)
        if not form.is_valid():
            # Every problem at once: the service's too, on the fields that parsed.
            try:
                services.check_intake(actor=request.user, intake=form.to_intake())
            except OrderError as exc:
                for error in exc.errors:
                    if error.field not in form.errors:
                        add_service_error(form, error)
        else:
            try:
                order = services.create_order(actor=request.user, intake=form.to_intake())
            except OrderError as exc:
                add_service_error(form, exc)
            except (NotAllowed, TransitionError) as exc:
                form.add_error(None, _service_message(exc))
            else:
                messages.success(request, gettext("Order %(number)s saved: %(state)s.") % {
                    "number": order.number, "state": labels.label(labels.STATES, order.state)})
                return redirect("workorders:order", number=order.number)
        status = 400
    else:
        form = IntakeForm(initial={"reply_wanted": True, "business_type": "repair", **_intake_prefill(request)})
    return render(request, "workorders/intake.html", _intake_context(request, form), status=status)


def _intake_prefill(request: HttpRequest) -> dict:
    """The intake opened from a call (the agent desk's screen pop links here
    with ``customer_id``, ``contact_id`` and ``caller_phone``): the caller
    and the customer filled in as choosing the customer would, and the
    call's contact kept so the order links to it (C2c)."""
    g = request.GET
    initial: dict = {}
    contact_id = _int(g.get("contact_id"))
    if contact_id is not None and contact_id > 0:
        initial["contact_id"] = contact_id
    caller_phone = g.get("caller_phone", "").strip()[:40]
    if caller_phone:
        initial["caller_phone"] = caller_phone
    customer = selectors.customer(request.user, _int(g.get("customer_id")))
    if customer is not None:
        initial.update(customer_id=customer.pk, caller_name=customer.name, address=customer.address,
                       service_area_id=customer.service_area_id)
        if not caller_phone:
            first = next(iter(customer.phones.all()), None)
            initial["caller_phone"] = (first.raw or str(first)) if first else ""
    return initial


@require_GET
@roles_required(*CENTER_ROLES)
def intake_customers(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    # Within access.visible_customers, best match first, with open orders.
    customers = selectors.lookup_customers(request.user, q, limit=12)
    return render(request, "workorders/partials/customer_results.html", {
        "customers": customers, "q": q, "matches": labels.CUSTOMER_MATCHES})


@require_GET
@roles_required(*CENTER_ROLES)
def intake_customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Choosing a customer fills the caller fields and the service area."""
    customer = selectors.customer(request.user, customer_id)
    if customer is None:
        raise Http404
    q = request.GET.get("q", "")
    typed = phones.normalise_or_none(q) if any(ch.isdigit() for ch in q) else None
    customer_phones = list(customer.phones.all())
    # The number the agent searched by is the number the caller is on.
    if typed is not None and any(p.number == typed.number for p in customer_phones):
        caller_phone = q.strip()
    else:
        caller_phone = (customer_phones[0].raw or str(customer_phones[0])) if customer_phones else ""
    form = IntakeForm(initial={"customer_id": customer.pk, "caller_name": customer.name, "caller_phone": caller_phone,
                               "address": customer.address, "service_area_id": customer.service_area_id})
    response = render(request, "workorders/partials/customer_chosen.html", {
        "form": form, "customer": customer, "area": customer.service_area,
        "customer_orders": selectors.customer_orders(request.user, customer)})
    response["HX-Trigger-After-Settle"] = "intake-context"  # the intake check looks again
    return response


@require_GET
@roles_required(*CENTER_ROLES)
def intake_check_view(request: HttpRequest) -> HttpResponse:
    """D3.1d/D7k: what the center knows about the place of a repair report
    (published outages, arrears, frequent outages) and what it proposes."""
    customer = None
    customer_id = _int(request.GET.get("customer_id"))
    if customer_id is not None:
        customer = access.visible_customers(request.user).filter(pk=customer_id).first()
    area_id = _int(request.GET.get("service_area_id"))
    if area_id is None and customer is None and request.GET.get("address"):
        area = area_for_address(request.GET["address"][:300])
        area_id = area.pk if area else None
    found = intake_check.check(service_area_id=area_id, customer=customer) if (area_id or customer) else None
    return render(request, "workorders/partials/intake_check.html", {
        "check": found, "reasons": [intake_check.REASON_TEXTS[r]() for r in (found.reasons if found else [])]})


@require_GET
@roles_required(*CENTER_ROLES)
def intake_duplicates(request: HttpRequest) -> HttpResponse:
    """D3.4a/e: open repair orders this report may duplicate, best first;
    the best is proposed as the master, the agent keeps or drops it."""
    g = request.GET
    proposals = services.preview_duplicates(
        actor=request.user, business_type=g.get("business_type", "")[:30], service_area_id=_int(g.get("service_area_id")),
        customer_id=_int(g.get("customer_id")), sub_class=g.get("sub_class", "")[:40], fault_scope=g.get("fault_scope", "")[:20],
        description=g.get("description", "")[:services.MAX_DESCRIPTION])
    reasons = labels.DUPLICATE_REASONS
    for p in proposals:
        p["reason_texts"] = [str(reasons.get(r, r)) for r in p["reasons"]]
    # A new best candidate is proposed ticked; one the agent already saw keeps
    # the agent's choice across refreshes.
    best = proposals[0]["number"] if proposals else ""
    keep = g.get("merge_into", "") == best or g.get("merge_offer", "") != best
    return render(request, "workorders/partials/duplicates.html", {"proposals": proposals, "ticked": keep})


@require_GET
@roles_required(*CENTER_ROLES)
def intake_customer_clear(request: HttpRequest) -> HttpResponse:
    return render(request, "workorders/partials/customer_card.html", {"customer": None})


@require_GET
@roles_required(*CENTER_ROLES)
def intake_type_fields(request: HttpRequest) -> HttpResponse:
    form = IntakeForm(initial={"business_type": request.GET.get("business_type", "")})
    return render(request, "workorders/partials/type_fields.html", _intake_context(request, form))


@require_GET
@roles_required(*CENTER_ROLES)
def intake_area(request: HttpRequest) -> HttpResponse:
    """The service area for a typed address, or the one the agent picked."""
    if request.GET.get("id"):
        area = selectors.service_area(_int(request.GET["id"]))
        looked_up = False
    else:
        address = request.GET.get("address", "")[:300]
        area = area_for_address(address)
        looked_up = bool(address.strip())
    response = render(request, "workorders/partials/area_box.html", {"area": area, "looked_up": looked_up})
    response["HX-Trigger-After-Settle"] = "intake-context"
    return response


@require_GET
@roles_required(*CENTER_ROLES)
def intake_areas(request: HttpRequest) -> HttpResponse:
    areas = find_service_areas(request.GET.get("area_q", "")[:100], limit=12)
    return render(request, "workorders/partials/area_candidates.html", {"areas": areas})


# --- my orders ------------------------------------------------------------------------

@require_GET
@roles_required(*CENTER_ROLES)
def my_orders(request: HttpRequest) -> HttpResponse:
    # The id breaks ties so that paging is stable.
    qs = selectors.my_orders(request.user).select_related("service_area", "customer", "chased_order").order_by("-created_at", "-id")
    state = request.GET.get("state", "")
    if state == "open":
        qs = qs.filter(state__in=selectors.OPEN_STATES)
    elif state in State.values:
        qs = qs.filter(state=state)
    else:
        state = ""
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for order in page.object_list:
        order.view = access.order_view(request.user, order)
    return render(request, "workorders/my_orders.html", {"page": page, "state": state, "states": State.choices})


# --- order search -------------------------------------------------------------------------

@require_GET
@roles_required(*SEARCH_ROLES)
def order_search(request: HttpRequest) -> HttpResponse:
    """Every order of the user's scope (access.visible_orders) by number,
    phone (4+ digits, the tail too), customer, address, type, state, unit,
    channel, dates and limits; paged, sortable, each with its nearest limit."""
    form = SearchForm(request.GET or None)
    page = None
    status = 200
    if form.is_bound and form.is_valid():
        page = selectors.search_page(request.user, form.criteria(), page=form.cleaned_data.get("page") or 1,
                                     per_page=PAGE_SIZE)
    elif not form.is_bound:
        # The page opens on the scope's open orders, newest first.
        form = SearchForm({"state": "open"})
        form.is_valid()
        page = selectors.search_page(request.user, form.criteria(), per_page=PAGE_SIZE)
    else:
        status = 400
    value = form.data.get
    business_type = selectors.search_types().filter(code=value("business_type")).first() if value("business_type") else None
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "workorders/search.html", {
        "form": form, "page": page, "now": clock.now(), "query": params.urlencode(),
        "types": selectors.search_types(), "business_type": business_type,
        "sub_classes": selectors.sub_classes(business_type), "states": State.choices,
        "units": selectors.search_units(request.user), "channels": Channel.choices,
        "sorts": SORT_CHOICES, "overdue_choices": OVERDUE_CHOICES,
    }, status=status)


# --- order page -------------------------------------------------------------------------

def _visible_order(request: HttpRequest, number: str) -> WorkOrder:
    order = selectors.get_visible_order(request.user, number)
    if order is None:
        raise Http404
    return order


def _order_context(request: HttpRequest, order: WorkOrder, **extra) -> dict:
    user = request.user
    actions = services.allowed_actions(order=order, user=user)
    needs_units = any(t.action in ("dispatch", "redispatch") for t in actions)
    return {
        "order": order,
        "view": access.order_view(user, order),
        "now": clock.now(),
        "clocks": selectors.order_clocks(order),
        "timeline": selectors.timeline(order, user),
        "actions": [t.action for t in actions],
        "dispatch_units": selectors.dispatch_units(order) if needs_units else [],
        "can_chase": user.role in CENTER_ROLES and order.is_open and order.business_type.code != "chase_up",
        "can_remind": (user.role in services.REMINDER_ROLES or user.is_superuser) and order.is_open,
        "record": _record(order),
        # What the unit records on resolve and reply (the type's declaration), and what it recorded.
        "record_fields": _record_fields(order, [t.action for t in actions]),
        "handling": handling.grouped(order.handling_record),
        "can_reveal": access.can_reveal(user, order),
        "repair_reasons": labels.REPAIR_RETURN_REASONS,
        "outcomes": labels.OUTCOMES,
        **extra,
    }


@require_GET
@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = _visible_order(request, number)
    return render(request, "workorders/order.html", _order_context(request, order))


def _record_fields(order: WorkOrder, actions) -> dict[str, list]:
    """The handling record's items per action offered, for the forms."""
    out = {}
    for action in actions:
        fields = handling.fields_for(order, action)
        if fields:
            out[action] = fields
    return out


def _transition(request: HttpRequest, order: WorkOrder, form: ActionForm) -> tuple[str | None, int, dict[str, str]]:
    """Run the posted action; (error message or None, HTTP status, the
    handling record's problems by item code)."""
    if not form.is_valid():  # the fields' own messages, not their code names
        return "；".join(e for errors in form.errors.values() for e in errors), 400, {}
    try:
        services.transition(order=order, action=form.cleaned_data["action"], actor=request.user, payload=form.payload())
    except OrderError as exc:
        # Every problem at once, each also beside its item.
        errors = exc.errors or [exc]
        by_item = {e.field.split(".", 1)[1]: e.message for e in errors if e.field.startswith("record.")}
        return "；".join(e.message for e in errors), 400, by_item
    except NotAllowed as exc:
        return _service_message(exc), 403, {}
    except TransitionError as exc:
        return _service_message(exc), 409, {}
    return None, 200, {}


@require_POST
@login_required
def order_act(request: HttpRequest, number: str) -> HttpResponse:
    order = _visible_order(request, number)
    form = ActionForm(request.POST)
    error, status, record_errors = _transition(request, order, form)
    if error is None:
        action = form.cleaned_data["action"]
        messages.success(request, gettext("%(action)s: done.") % {"action": labels.label(labels.ACTIONS, action)})
        return redirect("workorders:order", number=order.number)
    order = _visible_order(request, number)
    return render(request, "workorders/order.html", _order_context(
        request, order, action_error=error, failed_action=request.POST.get("action", ""), posted=request.POST,
        record_errors=record_errors), status=status)


@require_POST
@roles_required(*CENTER_ROLES)
def order_chase(request: HttpRequest, number: str) -> HttpResponse:
    order = _visible_order(request, number)
    form = NoteForm(request.POST)
    error, status = None, 400
    if not form.is_valid():
        error = form.errors["note"][0]
    else:
        try:
            chase = services.chase_up(order=order, actor=request.user, note=form.cleaned_data["note"])
        except OrderError as exc:
            error = _service_message(exc)
        except NotAllowed as exc:
            error, status = _service_message(exc), 403
        except TransitionError as exc:
            error, status = _service_message(exc), 409
        else:
            messages.success(request, gettext("Chase-up %(number)s raised.") % {"number": chase.number})
            return redirect("workorders:order", number=order.number)
    return render(request, "workorders/order.html", _order_context(
        request, order, chase_error=error, posted=request.POST), status=status)


def _record(order: WorkOrder):
    from hotline.workorders.records import PROBLEMS, order_record

    rec = order_record(order)
    rec.problem_labels = [PROBLEMS[p] for p in rec.problems]
    return rec


@require_POST
@roles_required(*services.REMINDER_ROLES)
def order_remind(request: HttpRequest, number: str) -> HttpResponse:
    """A manual reminder (催办) to the unit holding the order (D5d)."""
    order = _visible_order(request, number)
    text = (request.POST.get("text") or "").strip()
    error, status = None, 400
    try:
        services.remind(order=order.number, actor=request.user, text=text)
    except OrderError as exc:
        error = _service_message(exc)
    except NotAllowed as exc:
        error, status = _service_message(exc), 403
    except TransitionError as exc:
        error, status = _service_message(exc), 409
    else:
        messages.success(request, gettext("Reminder sent to %(unit)s.") % {
            "unit": order.assigned_unit.name if order.assigned_unit_id else order.scope_unit.name})
        return redirect("workorders:order", number=order.number)
    return render(request, "workorders/order.html", _order_context(request, order, remind_error=error, posted=request.POST),
                  status=status)


@require_POST
@login_required
def order_reporter(request: HttpRequest, number: str) -> HttpResponse:
    """Reveal a report's reporter: POST because every view is audited."""
    order = _visible_order(request, number)
    try:
        identity = access.reveal_reporter(request.user, order, via="page")
    except NotAllowed:
        raise PermissionDenied from None
    if request.htmx:
        return render(request, "workorders/partials/reporter.html", {"identity": identity, "revealed": True})
    return render(request, "workorders/order.html", _order_context(request, order, identity=identity, revealed=True))


# --- unit inbox -------------------------------------------------------------------------

def _inbox_context(request: HttpRequest, **extra) -> dict:
    user = request.user
    rows = []
    for order in selectors.unit_inbox(user, limit=INBOX_LIMIT):
        allowed = {t.action for t in services.allowed_actions(order=order, user=user)}
        offered = [a for a in INBOX_ACTIONS if a in allowed]
        rows.append({"order": order, "actions": offered, "view": access.order_view(user, order),
                     "record_fields": _record_fields(order, [a for a in offered if a in handling.ACTION_ORDER])})
    return {"rows": rows, "total": selectors.unit_inbox_count(user), "limit": INBOX_LIMIT, "now": clock.now(),
            "notices": selectors.unit_open_notices(user), "repair_reasons": labels.REPAIR_RETURN_REASONS, **extra}


@require_GET
@roles_required(Role.UNIT_STAFF)
def inbox(request: HttpRequest) -> HttpResponse:
    template = "workorders/partials/inbox_live.html" if request.htmx else "workorders/inbox.html"
    return render(request, template, _inbox_context(request))


@require_POST
@roles_required(Role.UNIT_STAFF)
def inbox_act(request: HttpRequest, number: str) -> HttpResponse:
    order = _visible_order(request, number)
    form = ActionForm(request.POST)
    error, _status, record_errors = _transition(request, order, form)
    done = None
    if error is None:
        done = gettext("%(number)s: %(action)s done.") % {
            "number": order.number, "action": labels.label(labels.ACTIONS, form.cleaned_data["action"])}
    if not request.htmx:
        if error:
            messages.error(request, f"{order.number}: {error}")
        else:
            messages.success(request, done)
        return redirect("workorders:inbox")
    # htmx swaps only 2xx answers, so a refusal comes back as 200 with the
    # message next to the row.
    context = _inbox_context(request, done=done, row_error=error, error_number=order.number if error else "",
                             failed_action=request.POST.get("action", "") if error else "", posted=request.POST,
                             record_errors=record_errors)
    return render(request, "workorders/partials/inbox_live.html", context)


@require_POST
@roles_required(Role.UNIT_STAFF)
def notice_answer(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = selectors.unit_open_notice(request.user, notice_id)
    if notice is None:
        raise Http404
    form = AnswerForm(request.POST)
    error = None
    if not form.is_valid():
        error = form.errors["answer"][0]
    else:
        try:
            answer_notice(notice=notice, user=request.user, text=form.cleaned_data["answer"])
        except (NoticeError, PermissionError) as exc:
            error = _service_message(exc)
    done = None if error else gettext("Supervision notice on %(number)s answered.") % {"number": notice.order.number}
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("workorders:inbox")
    context = _inbox_context(request, done=done, notice_error=error, error_notice=notice.pk, posted=request.POST)
    return render(request, "workorders/partials/inbox_live.html", context)


# --- shift-leader board -----------------------------------------------------------------

def _board_context(request: HttpRequest, **extra) -> dict:
    form = BoardForm(request.GET)
    data = selectors.shift_leader_board(request.user, form.query(), per_page=BOARD_PAGE)
    levels: dict[int, list] = {}
    for notice in data["notices"]:
        levels.setdefault(notice.level, []).append(notice)
    params = request.GET.copy()
    for key in ("page", "npage"):
        params.pop(key, None)
    units = list(selectors.search_units(request.user))
    # Rendered once for every row's reassign select (a template loop per row costs more than the queries).
    unit_options = format_html_join("", '<option value="{}">{}</option>', ((u.pk, u.name) for u in units))
    # Each row's links and forms from one prefix (50 reverse() calls cost more than they say).
    act_query = f"?{request.GET.urlencode()}" if request.GET else ""
    return {**data, "form": form, "notice_levels": sorted(levels.items(), reverse=True), "unit_options": unit_options,
            "act_base": reverse("workorders:board"), "act_query": act_query,
            "order_base": reverse("workorders:order", args=["x"])[:-2],
            "query": params.urlencode(),
            "units": units, "types": selectors.search_types(),
            "metrics": labels.METRICS.items(), "sorts": BOARD_SORT_CHOICES, "tones": BOARD_TONE_CHOICES,
            "group_by": {"unit": "unit", "type": "type"}.get(form.query().sort, ""), **extra}


@require_GET
@roles_required(*BOARD_ROLES)
def board(request: HttpRequest) -> HttpResponse:
    template = "workorders/partials/board_live.html" if request.htmx else "workorders/board.html"
    return render(request, template, _board_context(request))


@require_POST
@roles_required(*BOARD_ROLES)
def board_act(request: HttpRequest, number: str) -> HttpResponse:
    """From the board: reassign to another unit with a reason (clocks kept),
    a manual reminder to the holding unit (D5d), or a manual notice one
    level up. The board's filters come back in the query string."""
    order = _visible_order(request, number)
    form = BoardActionForm(request.POST)
    error = done = None
    if not form.is_valid():
        error = "; ".join(e for errors in form.errors.values() for e in errors)
    else:
        d = form.cleaned_data
        try:
            if d["action"] == "reassign":
                moved = services.reassign(order=order.number, actor=request.user, unit_id=d.get("unit_id"),
                                          reason=d.get("reason") or "")
                done = gettext("%(number)s sent to %(unit)s.") % {"number": order.number, "unit": moved.assigned_unit.name}
            elif d["action"] == "remind":
                notice = services.remind(order=order.number, actor=request.user, text=d.get("text") or "")
                done = gettext("Reminder sent to %(unit)s.") % {"number": order.number, "unit": notice.unit.name}
            else:
                notice = services.escalate(order=order.number, actor=request.user, text=d.get("text") or "")
                done = gettext("%(number)s escalated to %(unit)s.") % {"number": order.number, "unit": notice.unit.name}
        except (OrderError, NotAllowed, TransitionError) as exc:
            error = _service_message(exc)
    if not request.htmx:
        (messages.error if error else messages.success)(request, f"{order.number}: {error}" if error else done)
        query = request.GET.urlencode()
        return redirect(reverse("workorders:board") + (f"?{query}" if query else ""))
    # htmx swaps only 2xx answers: a refusal comes back with the board and the message.
    return render(request, "workorders/partials/board_live.html", _board_context(
        request, done=done, row_error=error, error_number=order.number if error else "", posted=request.POST))
