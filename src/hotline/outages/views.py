"""Outage pages: the list, one outage with its revision history and its
actions, the new-outage and revision forms, the import. Views parse input,
call a service or a selector and render; every rule is in the services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from hotline.organisation.decorators import roles_required
from hotline.organisation.models import ServiceArea
from hotline.outages import access, forms, imports, selectors, services
from hotline.outages.models import EventKind, Outage, OutageClass, OutageStatus

PAGE_SIZE = 25
ACTION_FORMS = {"start": forms.StartForm, "delay": forms.DelayForm, "restore": forms.RestoreForm,
                "cancel": forms.CancelForm}
FIELD_LABELS = {
    "status": _("Status"), "outage_class": _("Outage class"), "areas": _("Affected service areas"),
    "planned_start": _("Planned start"), "planned_end": _("Planned end"), "actual_start": _("Actual start"),
    "actual_restoration": _("Actual restoration"), "occurred_at": _("Trip time"), "reason": pgettext_lazy("outage", "Reason"),
    "scope": _("Scope"), "lines": _("Lines"), "transformers": _("Transformers"),
}
TIME_FIELDS = frozenset({"planned_start", "planned_end", "actual_start", "actual_restoration", "occurred_at", "due_at"})
# What the time-limit engine writes into the history (the publication lead
# times are clocks on the outage): its kinds and the payload entries shown.
ENGINE_KINDS = {"warning": _("Warning"), "supervision": _("Supervision notice"), "escalation": _("Escalation"),
                "reminder": _("Reminder"), "notice_answer": _("Notice answered")}
ENGINE_FIELDS = {"metric": _("Time limit"), "unit": _("Unit"), "supervisor_unit": _("Supervising unit"),
                 "due_at": _("Due"), "message": _("Message"), "answer": _("Answer")}
METRICS = {"publication": _("Publication lead time"), "change": _("Publishing a change"),
           "delay": _("Announcing a delay")}


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"may_publish": access.may_publish(request.user), **context}, status=status)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, services.OutageError) else str(exc)


def _outage(number: str) -> Outage:
    outage = selectors.get_outage(number)
    if outage is None:
        raise Http404
    return outage


def _display(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if name == "status":
        return str(OutageStatus(value).label) if value in OutageStatus.values else str(value)
    if name == "outage_class":
        return str(OutageClass(value).label) if value in OutageClass.values else str(value)
    if name in TIME_FIELDS:
        try:
            return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, list):
        return "、".join(map(str, value))
    return str(value)


def _engine_row(event) -> dict:
    payload = event.payload if isinstance(event.payload, dict) else {}
    details = []
    for name, label in ENGINE_FIELDS.items():
        value = payload.get(name)
        if value in (None, ""):
            continue
        value = METRICS.get(value, value) if name == "metric" else _display(name, value)
        details.append({"label": label, "old": "", "new": str(value), "first": True})
    return {"event": event, "label": ENGINE_KINDS.get(event.kind, event.kind), "changes": details, "reason": "",
            "note": "", "notice": ""}


def _history(outage: Outage) -> list[dict]:
    rows = []
    for event in outage.events.select_related("actor").order_by("-seq"):
        if event.kind not in EventKind.values:
            # The time-limit engine writes into the history too.
            rows.append(_engine_row(event))
            continue
        payload = event.payload or {}
        changes = [{"label": FIELD_LABELS.get(name, name), "old": _display(name, change.get("old")),
                    "new": _display(name, change.get("new")), "first": change.get("old") is None}
                   for name, change in (payload.get("changes") or {}).items()]
        rows.append({"event": event, "label": EventKind(event.kind).label, "changes": changes,
                     "reason": payload.get("reason", ""), "note": payload.get("note", ""),
                     "notice": (payload.get("notice") or {}).get("text", "")})
    return rows


def _actions(user, outage: Outage) -> list[str]:
    if not access.may_change(user, outage) or outage.is_final:
        return []
    by_status = {
        OutageStatus.DRAFT: ["publish", "revise", "cancel"],
        OutageStatus.PUBLISHED: ["start", "revise", "restore", "cancel"],
        OutageStatus.STARTED: ["delay", "restore", "revise"],
        OutageStatus.DELAYED: ["delay", "restore", "revise"],
    }
    return by_status.get(outage.status, [])


def _detail(request: HttpRequest, outage: Outage, *, failed: str = "", form=None, error: str = "",
            status: int = 200) -> HttpResponse:
    action_forms = {name: (form if name == failed and form is not None else cls()) for name, cls in ACTION_FORMS.items()}
    return _render(request, "outages/detail.html", {
        "outage": outage, "areas": outage.areas.order_by("code"), "history": _history(outage),
        "actions": _actions(request.user, outage), "forms": action_forms, "failed": failed, "action_error": error,
    }, status=status)


# --- pages ------------------------------------------------------------------------

@roles_required(*access.READER_ROLES)
def outage_list(request: HttpRequest) -> HttpResponse:
    form = forms.FilterForm(request.GET or None)
    area = None
    qs = Outage.objects.none()
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        status = 200
        data = form.cleaned_data if form.is_bound else {}
        query = (data.get("area") or "").strip()
        if query:
            area = (ServiceArea.objects.filter(code=query).first()
                    or ServiceArea.objects.filter(full_name__contains=query).order_by("level", "code").first())
            if area is None:
                form.add_error("area", gettext("No service area with this code or name."))
        if not query or area is not None:
            qs = selectors.outage_list(status=data.get("status") or "", outage_class=data.get("outage_class") or "",
                                       area_id=area.pk if area else None, day=data.get("day"))
    page = Paginator(qs.prefetch_related("areas"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _render(request, "outages/list.html", {
        "form": form, "page": page, "area": area, "query": query.urlencode()}, status=status)


@roles_required(*access.READER_ROLES)
def outage_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _detail(request, _outage(number))


@require_http_methods(["GET", "POST"])
@roles_required(*access.READER_ROLES)
def outage_new(request: HttpRequest) -> HttpResponse:
    if not access.may_publish(request.user):
        raise PermissionDenied
    if request.method == "GET":
        form = forms.NewOutageForm(user=request.user)
        return _render(request, "outages/form.html", {"form": form, "outage": None})
    form = forms.NewOutageForm(request.POST, user=request.user)
    if form.is_valid():
        data = services.OutageInput(**form.service_values(), number=form.cleaned_data.get("number", ""))
        try:
            outage = services.draft(actor=request.user, data=data, publish=form.cleaned_data.get("publish", False))
        except services.OutageError as exc:
            forms.add_service_error(form, exc)
        except (services.NotAllowed, services.OutageStateError) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, gettext("Outage %(number)s saved: %(status)s.")
                             % {"number": outage.number, "status": outage.get_status_display()})
            return redirect("outages:detail", number=outage.number)
    return _render(request, "outages/form.html", {"form": form, "outage": None}, status=400)


def _revise_initial(outage: Outage) -> dict:
    return {"outage_class": outage.outage_class, "areas": list(outage.areas.all()),
            "planned_start": timezone.localtime(outage.planned_start), "planned_end": timezone.localtime(outage.planned_end),
            "occurred_at": timezone.localtime(outage.occurred_at) if outage.occurred_at else None,
            "reason": outage.reason, "scope": outage.scope, "lines": "；".join(outage.lines),
            "transformers": "；".join(outage.transformers)}


@require_http_methods(["GET", "POST"])
@roles_required(*access.READER_ROLES)
def outage_revise(request: HttpRequest, number: str) -> HttpResponse:
    outage = _outage(number)
    if "revise" not in _actions(request.user, outage):
        raise PermissionDenied
    if request.method == "GET":
        form = forms.ReviseForm(user=request.user, outage=outage, initial=_revise_initial(outage))
        return _render(request, "outages/form.html", {"form": form, "outage": outage})
    form = forms.ReviseForm(request.POST, user=request.user, outage=outage)
    if form.is_valid():
        values = form.service_values()
        if values["planned_start"] is None:
            values.pop("planned_start")  # left empty: keep it (a fault's is its trip time)
        if outage.status != OutageStatus.DRAFT:
            values.pop("outage_class")
        try:
            outage = services.revise(outage=outage, actor=request.user, changes=values,
                                     note=form.cleaned_data.get("note", ""))
        except services.OutageError as exc:
            forms.add_service_error(form, exc)
        except (services.NotAllowed, services.OutageStateError) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, gettext("Outage %(number)s revised.") % {"number": outage.number})
            return redirect("outages:detail", number=outage.number)
    return _render(request, "outages/form.html", {"form": form, "outage": outage}, status=400)


@require_POST
@roles_required(*access.READER_ROLES)
def outage_act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    outage = _outage(number)
    if action not in ("publish", *ACTION_FORMS):
        raise Http404
    if action not in _actions(request.user, outage):
        raise PermissionDenied
    form = ACTION_FORMS[action](request.POST) if action in ACTION_FORMS else None
    if form is not None and not form.is_valid():
        return _detail(request, outage, failed=action, form=form, status=400)
    data = form.cleaned_data if form is not None else {}
    try:
        if action == "publish":
            outage = services.publish(outage=outage, actor=request.user)
        elif action == "start":
            outage = services.start(outage=outage, actor=request.user, actual_start=data.get("actual_start"))
        elif action == "delay":
            outage = services.delay(outage=outage, actor=request.user, new_end=data["new_end"], reason=data["reason"])
        elif action == "restore":
            outage = services.restore(outage=outage, actor=request.user,
                                      actual_restoration=data.get("actual_restoration"),
                                      actual_start=data.get("actual_start"))
        else:
            outage = services.cancel(outage=outage, actor=request.user, reason=data["reason"])
    except services.OutageError as exc:
        if form is not None and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
            return _detail(request, outage, failed=action, form=form, status=400)
        return _detail(request, outage, failed=action, form=form, error=exc.message, status=400)
    except (services.NotAllowed, services.OutageStateError) as exc:
        return _detail(request, _outage(number), failed=action, form=form, error=_message(exc), status=409)
    messages.success(request, gettext("Outage %(number)s: %(status)s.")
                     % {"number": outage.number, "status": outage.get_status_display()})
    return redirect("outages:detail", number=outage.number)


@require_http_methods(["GET", "POST"])
@roles_required(*access.READER_ROLES)
def outage_import(request: HttpRequest) -> HttpResponse:
    if not access.may_publish(request.user):
        raise PermissionDenied
    context = {"columns": _import_columns()}
    if request.method == "GET":
        return _render(request, "outages/import.html", {**context, "form": forms.ImportForm()})
    form = forms.ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, "outages/import.html", {**context, "form": form}, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = services.import_outages(data=upload.read(), filename=upload.name, actor=request.user)
    except imports.ImportRejected as exc:
        return _render(request, "outages/import.html", {**context, "form": form, "errors": exc.errors,
                                                       "file_name": upload.name}, status=400)
    except services.NotAllowed as exc:
        form.add_error(None, str(exc))
        return _render(request, "outages/import.html", {**context, "form": form}, status=403)
    messages.success(request, gettext("Imported and published %(n)d outages from %(name)s.")
                     % {"n": len(result.outages), "name": upload.name})
    return redirect("outages:list")


def _import_columns() -> list[dict]:
    required = set(imports.REQUIRED)
    examples = {
        "number": "JH-2026-118", "outage_class": "计划停电", "planned_start": "2026-12-01 08:00",
        "planned_end": "2026-12-01 17:00", "area_codes": "CG-01；CG-02", "lines": "10kV城关线",
        "transformers": "南街1号变", "reason": "线路检修", "scope": "南街、北街", "occurred_at": "2026-12-01 07:42",
    }
    notes = {
        "outage_class": _("Planned outage, temporary outage, grid fault outage, … (the Chinese names)"),
        "area_codes": _("Service-area codes separated by ; or 、; a township or village covers the areas below it"),
        "occurred_at": _("Grid fault outages only"),
        "number": _("Empty: the system gives one"),
    }
    return [{"name": str(label), "required": c in required, "example": examples[c], "note": notes.get(c, "")}
            for c, label in imports.COLUMNS.items()]
