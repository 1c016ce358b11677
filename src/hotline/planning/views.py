"""Planning pages: thin views over services (writes) and selectors (reads)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from hotline.core import clock, jobs
from hotline.core.models import Job, JobStatus
from hotline.organisation.decorators import roles_required
from hotline.organisation.models import Role
from hotline.planning import charts, imports, labels, selectors, services
from hotline.planning import jobs as planning_jobs
from hotline.planning.forms import ForecastForm, ImportForm, NewScheduleForm, QueueForm, TargetForm, WhatIfForm
from hotline.planning.models import DAY_CHOICES, Queue, Schedule

PLANNER_ROLES = (Role.SHIFT_LEADER, Role.DIRECTOR, Role.ADMIN)
DAY_NAMES = [label for _, label in DAY_CHOICES]


def _error(exc: Exception) -> str:
    return gettext(str(exc))


# --- home -------------------------------------------------------------------------


def _home_context(request: HttpRequest, **extra) -> dict:
    today = clock.localnow().date()
    context = {
        "queues": selectors.queues_with_stats(),
        "templates": selectors.templates(),
        "schedules": selectors.recent_schedules(),
        "import_form": ImportForm(),
        "queue_form": QueueForm(),
        "schedule_form": NewScheduleForm(initial={"week_start": services.monday_of(today) + dt.timedelta(days=7),
                                                  "interval_minutes": 30}),
        "now": services.extra_agents_now() if Queue.objects.exists() and selectors.latest_stat_date() else None,
    }
    context.update(extra)
    return context


@require_GET
@roles_required(*PLANNER_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "planning/home.html", _home_context(request))


@require_POST
@roles_required(*PLANNER_ROLES)
def import_stats(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "planning/home.html", _home_context(request, import_form=form), status=400)
    upload = form.cleaned_data["file"]
    try:
        result = services.import_interval_stats(data=upload.read(), filename=upload.name)
    except imports.FileRejected as exc:
        return render(request, "planning/home.html",
                      _home_context(request, import_form=form, import_errors=exc.errors, import_name=upload.name),
                      status=400)
    messages.success(request, gettext("Imported %(rows)d interval rows for %(queues)s (%(first)s – %(last)s).") % {
        "rows": result.rows, "queues": ", ".join(result.queues),
        "first": timezone.localtime(result.first).strftime("%Y-%m-%d %H:%M"),
        "last": timezone.localtime(result.last).strftime("%Y-%m-%d %H:%M")})
    return redirect("planning:home")


@require_POST
@roles_required(*PLANNER_ROLES)
def queue_create(request: HttpRequest) -> HttpResponse:
    if request.POST.get("standard"):
        n = services.add_standard_queues()
        messages.success(request, gettext("Added %(n)d standard queues.") % {"n": n})
        return redirect("planning:home")
    form = QueueForm(request.POST)
    if not form.is_valid():
        return render(request, "planning/home.html", _home_context(request, queue_form=form), status=400)
    try:
        services.create_queue(name=form.cleaned_data["name"], code=form.cleaned_data["code"])
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("planning:home")


@roles_required(*PLANNER_ROLES)
def target_edit(request: HttpRequest, code: str) -> HttpResponse:
    queue = get_object_or_404(Queue, code=code)
    target = getattr(queue, "target", None)
    # Bound on every POST: an empty submission shows its errors (an empty QueryDict is falsy).
    form = TargetForm(request.POST if request.method == "POST" else None, instance=target)
    if request.method == "POST" and form.is_valid():
        services.save_target(queue=queue, **{f: form.cleaned_data[f] for f in TargetForm.Meta.fields})
        messages.success(request, gettext("Targets of %(queue)s saved.") % {"queue": queue.name})
        return redirect("planning:home")
    return render(request, "planning/target.html", {"queue": queue, "form": form},
                  status=400 if request.method == "POST" else 200)


@require_POST
@roles_required(*PLANNER_ROLES)
def standard_templates(request: HttpRequest) -> HttpResponse:
    n = services.add_standard_templates()
    messages.success(request, gettext("Added %(n)d standard shift templates.") % {"n": n})
    return redirect("planning:home")


# --- schedules ----------------------------------------------------------------------


@require_POST
@roles_required(*PLANNER_ROLES)
def schedule_create(request: HttpRequest) -> HttpResponse:
    form = NewScheduleForm(request.POST)
    if not form.is_valid():
        return render(request, "planning/home.html", _home_context(request, schedule_form=form), status=400)
    d = form.cleaned_data
    job = jobs.enqueue(kind=planning_jobs.CREATE, actor=request.user, params={
        "week_start": d["week_start"].isoformat(), "queue": d["queue"].pk if d["queue"] else None,
        "interval_minutes": d["interval_minutes"]})
    return redirect("planning:job", pk=job.pk)


# What a finished job says, and where it leads (its schedule; home if none).
_JOB_DONE = {
    planning_jobs.CREATE: (_("Schedule solved (%(status)s, gap %(gap).2f%%)."), "planning:schedule"),
    planning_jobs.RESOLVE: (_("Schedule solved again."), "planning:schedule-edit"),
    planning_jobs.ASSIGN: (_("%(n)d shifts assigned to named agents."), "planning:schedule-edit"),
}


@require_GET
@roles_required(*PLANNER_ROLES)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A solve in progress; polled by the page, it forwards to the result."""
    job = get_object_or_404(Job, pk=pk, kind__in=list(_JOB_DONE))
    if job.finished:
        text, target = _JOB_DONE[job.kind]
        schedule = job.result.get("schedule") or job.params.get("schedule")
        if job.status == JobStatus.DONE:
            messages.success(request, str(text) % {"status": labels.solver_state(job.result.get("solver_status")),
                                                   "gap": (job.result.get("mip_gap") or 0) * 100,
                                                   "n": job.result.get("assigned", 0)})
        else:
            messages.error(request, gettext(job.error))
        url = reverse(target, args=[schedule]) if schedule else reverse("planning:home")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = "planning/partials/job_status.html" if request.htmx else "planning/job.html"
    return render(request, template, {"job": job, "schedule": job.params.get("schedule")})


def _week_chart(cov: selectors.Coverage) -> str:
    per_day = len(cov.rows) // 7
    labels = [f"{DAY_NAMES[r.day]} {r.label}" if r.index % per_day == 0 else "" for r in cov.rows]
    under = (cov.scheduled < cov.required).tolist()
    return charts.chart(charts.Chart(
        labels=labels, label_every=per_day,
        series=[charts.Series(gettext("Required"), cov.required.tolist(), "step", "red"),
                charts.Series(gettext("Scheduled"), cov.scheduled.tolist(), "step", "brand")],
        bands=charts.runs_of(under, "under"), band_labels={"under": gettext("Under-covered")},
        title=gettext("Required vs scheduled agents, week of %(week)s") % {"week": cov.schedule.week_start},
        y_label=gettext("agents"), height=240, integer=True))


def _day_chart(cov: selectors.Coverage, day: int) -> str:
    per_day = len(cov.rows) // 7
    rows = cov.rows[day * per_day:(day + 1) * per_day]
    req = [r.required for r in rows]
    sch = [r.scheduled for r in rows]
    bands = charts.runs_of([s < r for r, s in zip(req, sch)], "under") + \
        charts.runs_of([s > r for r, s in zip(req, sch)], "over")
    return charts.chart(charts.Chart(
        labels=[r.label for r in rows], label_every=max(1, per_day // 24),
        series=[charts.Series(gettext("Scheduled"), sch, "bar", "brand"),
                charts.Series(gettext("Required"), req, "step", "red")],
        bands=bands, band_labels={"under": gettext("Under-covered"), "over": gettext("Over-covered")},
        title=gettext("%(day)s: required vs scheduled agents") % {"day": DAY_NAMES[day]},
        y_label=gettext("agents"), height=300, integer=True))


def _schedule(pk: int) -> Schedule:
    return get_object_or_404(Schedule.objects.select_related("queue", "created_by", "published_by"), pk=pk)


@require_GET
@roles_required(*PLANNER_ROLES)
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(pk)
    cov = selectors.coverage(schedule)
    try:
        day = min(max(int(request.GET.get("day", 0)), 0), 6)
    except ValueError:
        day = 0
    per_day = len(cov.rows) // 7
    days = []
    for d in range(7):
        rows = cov.rows[d * per_day:(d + 1) * per_day]
        days.append({"index": d, "name": DAY_NAMES[d], "date": schedule.week_start + dt.timedelta(days=d),
                     "under": sum(1 for r in rows if r.diff < 0)})
    context = {"schedule": schedule, "cov": cov, "day": day, "days": days, "day_name": DAY_NAMES[day],
               "day_rows": cov.rows[day * per_day:(day + 1) * per_day], "day_chart": _day_chart(cov, day)}
    if request.htmx:
        return render(request, "planning/partials/coverage_day.html", context)
    context["week_chart"] = _week_chart(cov)
    return render(request, "planning/schedule.html", context)


@roles_required(*PLANNER_ROLES)
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(pk)
    status = 200
    if request.method == "POST":
        counts: dict[tuple[int, int], int] = {}
        bad = False
        for key, raw in request.POST.items():
            if not key.startswith("c-"):
                continue
            try:
                _, template_id, day = key.split("-")
                value = int(raw or 0)
                counts[(int(template_id), int(day))] = value
                bad |= value < 0
            except ValueError:
                bad = True
        if bad:
            messages.error(request, gettext("Counts must be whole numbers ≥ 0."))
            status = 400
        else:
            try:
                changed = services.set_shift_counts(schedule=schedule, counts=counts, actor=request.user)
            except services.PlanningError as exc:
                messages.error(request, _error(exc))
                status = 400
            else:
                messages.success(request, gettext("%(n)d shift counts changed.") % {"n": changed})
                return redirect("planning:schedule-edit", pk=schedule.pk)
    schedule.refresh_from_db()
    rows = selectors.count_grid(schedule, all_templates=not schedule.is_published)
    cov = selectors.coverage(schedule)
    context = {"schedule": schedule, "rows": rows, "day_totals": selectors.day_totals(rows),
               "day_names": [{"name": DAY_NAMES[d], "date": schedule.week_start + dt.timedelta(days=d)} for d in range(7)],
               "assignments": selectors.assignment_grid(schedule), "cov": cov, "week_chart": _week_chart(cov)}
    return render(request, "planning/schedule_edit.html", context, status=status)


def _schedule_action(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    schedule = _schedule(pk)
    try:
        result = action(schedule)
    except services.PlanningError as exc:
        messages.error(request, _error(exc))
    else:
        messages.success(request, done % {"n": result if isinstance(result, int) else 0})
    return redirect("planning:schedule-edit", pk=schedule.pk)


def _schedule_job(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    schedule = _schedule(pk)
    if schedule.is_published:
        messages.error(request, gettext("A published schedule is read-only."))
        return redirect("planning:schedule", pk=schedule.pk)
    job = jobs.enqueue(kind=kind, actor=request.user, params={"schedule": schedule.pk})
    return redirect("planning:job", pk=job.pk)


@require_POST
@roles_required(*PLANNER_ROLES)
def schedule_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _schedule_job(request, pk, planning_jobs.RESOLVE)


@require_POST
@roles_required(*PLANNER_ROLES)
def schedule_assign(request: HttpRequest, pk: int) -> HttpResponse:
    return _schedule_job(request, pk, planning_jobs.ASSIGN)


@require_POST
@roles_required(*PLANNER_ROLES)
def schedule_publish(request: HttpRequest, pk: int) -> HttpResponse:
    return _schedule_action(request, pk, lambda s: services.publish_schedule(schedule=s, actor=request.user),
                            gettext("Schedule published; it is now read-only."))


# --- what-if ------------------------------------------------------------------------


def _whatif_charts(answer: services.StormAnswer) -> tuple[str, str]:
    first, last = answer.surge
    storm = [charts.Band(first, last, "storm")]
    label_every = max(1, len(answer.labels) // 16)
    agents = charts.chart(charts.Chart(
        labels=answer.labels, label_every=label_every, bands=storm, band_labels={"storm": gettext("Storm")},
        series=[charts.Series(gettext("Planned agents"), answer.base_agents.tolist(), "bar", "grey"),
                charts.Series(gettext("Standby agents (simulated)"),
                              [int(v) if ok else None for v, ok in zip(answer.extra_agents, answer.decided)],
                              "bar", "orange"),
                charts.Series(gettext("Erlang estimate of extras"), answer.erlang_extra.tolist(), "step", "purple",
                              dashed=True)],
        title=gettext("Agents per interval"), y_label=gettext("agents"), height=260, integer=True))
    pct = lambda a: [None if v != v else round(float(v) * 100, 1) for v in a]  # noqa: E731 - NaN -> gap
    sl = charts.chart(charts.Chart(
        labels=answer.labels, label_every=label_every, bands=storm, band_labels={"storm": gettext("Storm")},
        series=[charts.Series(gettext("Without standby"), pct(answer.service_level_without), "line", "red"),
                charts.Series(gettext("With standby"), pct(answer.service_level), "line", "brand")],
        ref=charts.RefLine(answer.target * 100, gettext("target %(pct)s%%") % {"pct": f"{answer.target * 100:g}"}),
        y_max=100, y_format="{:g}%", title=gettext("Simulated service level"), y_label=gettext("service level"),
        height=240))
    return agents, sl


def _whatif_initial() -> dict:
    queues = Queue.objects.all()
    day = selectors.latest_stat_date() or clock.localnow().date()
    return {"queue": queues.filter(code="repair").first() or queues.first(), "day": day, "start": dt.time(14, 0),
            "hours": 4, "factor": 3, "target": 80, "replications": 40}


def _whatif_page(request: HttpRequest, form: WhatIfForm, status: int = 200, **extra) -> HttpResponse:
    recent = Job.objects.filter(kind=planning_jobs.WHATIF).select_related("created_by").order_by("-id")
    if extra.get("run"):
        recent = recent.exclude(pk=extra["run"]["job"].pk)  # shown above, and kept current by the polling
    recent = recent[:5]
    queues = {q.pk: q.name for q in Queue.objects.all()}
    context = {"form": form, "budget": services.whatif_seconds(), "max_calls": services.MAX_CALLS_PER_RUN,
               "recent": [{"job": j, "queue": queues.get(j.params.get("queue"), "—"), "params": j.params}
                          for j in recent], **extra}
    return render(request, "planning/whatif.html", context, status=status)


@roles_required(*PLANNER_ROLES)
def whatif(request: HttpRequest) -> HttpResponse:
    """The form; submitting it queues the simulation for a worker (it may take the whole time budget)."""
    if request.method == "POST":
        form = WhatIfForm(request.POST)
        if not form.is_valid():
            return _whatif_page(request, form, status=400)
        job = jobs.enqueue(kind=planning_jobs.WHATIF, actor=request.user, params=form.job_params())
        return redirect("planning:whatif-run", pk=job.pk)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return _whatif_page(request, WhatIfForm(initial=_whatif_initial()))


def _whatif_context(job: Job) -> dict:
    context: dict = {"job": job, "budget": services.whatif_seconds()}
    if job.status == JobStatus.RUNNING and job.started_at:
        context["deadline"] = job.started_at + dt.timedelta(seconds=context["budget"])
    if job.status == JobStatus.FAILED:
        context["error"] = gettext(job.error) if job.error else gettext("The simulation failed.")
    if job.status != JobStatus.DONE:
        return context
    answer = services.StormAnswer.from_json(job.result)
    context["answer"] = answer
    context["agents_chart"], context["sl_chart"] = _whatif_charts(answer)
    first, last = answer.surge
    context["rows"] = [
        {"label": answer.labels[i], "storm": first <= i < last,
         "offered": answer.offered[i] * (answer.factor if first <= i < last else 1),
         "base": int(answer.base_agents[i]), "extra": int(answer.extra_agents[i]), "decided": bool(answer.decided[i]),
         "searched": answer.searched[0] <= i < answer.searched[1],
         "erlang": int(answer.erlang_extra[i]), "sl": answer.service_level[i],
         "sl_without": answer.service_level_without[i]}
        for i in range(len(answer.labels))]
    return context


@require_GET
@roles_required(*PLANNER_ROLES)
def whatif_run(request: HttpRequest, pk: int) -> HttpResponse:
    """One what-if: its progress while the worker runs it (polled), then its answer."""
    job = get_object_or_404(Job.objects.select_related("created_by"), pk=pk, kind=planning_jobs.WHATIF)
    context = _whatif_context(job)
    if request.htmx:
        return render(request, "planning/partials/whatif_run.html", context)
    initial = _whatif_initial()
    p = job.params
    initial.update({k: (int(p[k]) if isinstance(p[k], float) and p[k].is_integer() else p[k])  # 2, not 2.0
                    for k in ("day", "start", "hours", "factor", "target", "replications") if k in p})
    initial["queue"] = Queue.objects.filter(pk=p.get("queue")).first() or initial["queue"]
    return _whatif_page(request, WhatIfForm(initial=initial), run=context)


# --- forecast vs actual --------------------------------------------------------------


@require_GET
@roles_required(*PLANNER_ROLES)
def forecast(request: HttpRequest) -> HttpResponse:
    queues = Queue.objects.all()
    initial = {"queue": queues.filter(code="repair").first() or queues.first(),
               "day": selectors.latest_stat_date() or clock.localnow().date()}
    form = ForecastForm(request.GET if "queue" in request.GET else None, initial=initial)
    context: dict = {"form": form, "has_forecast": services._forecast_module() is not None}
    bound = form.is_bound and form.is_valid()
    queue = form.cleaned_data["queue"] if bound else initial["queue"]
    day = form.cleaned_data["day"] if bound else initial["day"]
    if queue is None:
        return render(request, "planning/forecast.html", context)
    actual = selectors.actual_day(queue=queue, day=day)
    series = [charts.Series(gettext("Actual offered"), actual.offered.tolist(), "bar", "brand")]
    predicted = services.predicted_day(queue=queue, day=day)
    if predicted is not None:
        series.append(charts.Series(gettext("Forecast (%(method)s)") % {"method": labels.method(predicted.method)},
                                    predicted.offered.tolist(), "line", "orange"))
        context["day_wape"] = services.forecast_error(actual.offered, predicted.offered)
        report = services.backtest(queue=queue)
        if report is not None:
            context.update(report=report, report_rows=report.table())
    context.update(queue=queue, day=day, actual=actual, predicted=predicted, chart=charts.chart(charts.Chart(
        labels=actual.labels, label_every=2, series=series, y_label=gettext("calls"),
        title=gettext("%(queue)s on %(day)s: calls per interval") % {"queue": queue.name, "day": day})))
    context["rows"] = [
        {"label": label, "offered": actual.offered[i], "answered": actual.answered[i],
         "aht": None if actual.aht[i] != actual.aht[i] else actual.aht[i],
         "predicted": predicted.offered[i] if predicted is not None else None}
        for i, label in enumerate(actual.labels)]
    return render(request, "planning/forecast.html", context)
