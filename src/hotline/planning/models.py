"""Workforce planning: queues, interval statistics, staffing targets, shift
templates and weekly schedules. Rules live in services.py; the maths in
hotline.workforce."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

INTERVAL_CHOICES = [(15, "15"), (30, "30"), (60, "60")]
DAY_CHOICES = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")), (6, _("Sun"))]


class Queue(models.Model):
    """A call queue of the installation, by the code the switch gives it
    (the ``queue`` of its calls). Its center is whose wallboard shows it
    (C4a): a switch's queues carry no center of their own."""

    name = models.CharField(_("name"), max_length=60)
    code = models.SlugField(_("code"), max_length=30, unique=True, help_text=_("Used in imported files, e.g. repair."))
    center = models.ForeignKey(
        "organisation.Unit", on_delete=models.SET_NULL, null=True, blank=True, related_name="call_queues",
        limit_choices_to={"kind": "center"}, verbose_name=_("customer-service center"),
        help_text=_("The center whose wallboard counts this queue's calls. Empty: with one center, that center; "
                    "with several, none (the wallboard list names such queues)."))

    class Meta:
        ordering = ["code"]
        verbose_name = _("call queue")
        verbose_name_plural = _("call queues")

    def __str__(self) -> str:
        return self.name


class IntervalStat(models.Model):
    """Calls of one queue in one interval (15/30/60 minutes) starting at ``start``."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="stats", verbose_name=_("queue"))
    start = models.DateTimeField(_("start"))
    interval_minutes = models.PositiveSmallIntegerField(_("interval (min)"), choices=INTERVAL_CHOICES, default=30)
    offered = models.PositiveIntegerField(_("offered"))
    answered = models.PositiveIntegerField(_("answered"))
    aht_seconds = models.FloatField(_("AHT (s)"), validators=[MinValueValidator(0)])
    abandoned = models.PositiveIntegerField(_("abandoned"))

    class Meta:
        ordering = ["queue", "start"]
        verbose_name = _("interval statistic")
        verbose_name_plural = _("interval statistics")
        constraints = [models.UniqueConstraint(fields=["queue", "start"], name="planning_stat_unique_queue_start")]

    def __str__(self) -> str:
        return f"{self.queue.code} {self.start:%Y-%m-%d %H:%M} {self.offered}"


class StaffingTarget(models.Model):
    """What every interval of a queue must achieve (blank = no such target)."""

    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="target", verbose_name=_("queue"))
    service_level_pct = models.FloatField(_("service level %"), default=80.0,
                                          validators=[MinValueValidator(0), MaxValueValidator(99.9)])
    answer_seconds = models.PositiveIntegerField(_("answer time T (s)"), default=20)
    max_asa_seconds = models.FloatField(_("max ASA (s)"), null=True, blank=True, validators=[MinValueValidator(0.1)])
    max_abandon_pct = models.FloatField(_("max abandon %"), null=True, blank=True,
                                        validators=[MinValueValidator(0.1), MaxValueValidator(100)])
    max_occupancy_pct = models.FloatField(_("max occupancy %"), null=True, blank=True,
                                          validators=[MinValueValidator(1), MaxValueValidator(100)])
    shrinkage_pct = models.FloatField(_("shrinkage %"), default=30.0, validators=[MinValueValidator(0), MaxValueValidator(90)])
    patience_seconds = models.FloatField(_("mean patience (s)"), null=True, blank=True, validators=[MinValueValidator(1)],
                                         help_text=_("Erlang A with this mean patience; blank for Erlang C."))

    class Meta:
        verbose_name = _("staffing target")
        verbose_name_plural = _("staffing targets")

    def __str__(self) -> str:
        return f"{self.queue}: {self.service_level_pct:g}% / {self.answer_seconds}s"

    @property
    def model_name(self) -> str:
        return "Erlang A" if self.patience_seconds else "Erlang C"


class ShiftTemplate(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)
    start_time = models.TimeField(_("start time"))
    length_minutes = models.PositiveIntegerField(_("length (min)"), validators=[MinValueValidator(15), MaxValueValidator(16 * 60)])
    breaks = models.JSONField(_("breaks"), default=list, blank=True,
                              help_text=_("List of [offset minutes, length minutes] from the shift start."))
    cost = models.FloatField(_("cost"), null=True, blank=True, help_text=_("Blank: paid hours, +25% for night hours."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["start_time", "name"]
        verbose_name = _("shift template")
        verbose_name_plural = _("shift templates")

    def __str__(self) -> str:
        return self.name

    @property
    def start_minute(self) -> int:
        return self.start_time.hour * 60 + self.start_time.minute

    @property
    def end_label(self) -> str:
        end = (self.start_minute + self.length_minutes) % (24 * 60)
        return f"{end // 60:02d}:{end % 60:02d}"


class ScheduleStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("schedule status", "Draft")
    PUBLISHED = "published", pgettext_lazy("schedule status", "Published")


class Schedule(models.Model):
    """Shift counts for one week (Monday first); read-only once published."""

    week_start = models.DateField(_("week starting"))
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="schedules",
                              verbose_name=_("queue"), help_text=_("Blank: every queue together."))
    interval_minutes = models.PositiveSmallIntegerField(_("interval (min)"), choices=INTERVAL_CHOICES, default=30)
    status = models.CharField(_("status"), max_length=12, choices=ScheduleStatus.choices, default=ScheduleStatus.DRAFT)
    required = models.JSONField(_("required agents per interval"), default=list, blank=True)
    required_source = models.CharField(_("requirement source"), max_length=20, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("published by"))
    solver_status = models.CharField(_("solver status"), max_length=60, blank=True, default="")
    mip_gap = models.FloatField(_("MIP gap"), null=True, blank=True)
    objective = models.FloatField(_("objective"), null=True, blank=True)
    solve_seconds = models.FloatField(_("solve time (s)"), null=True, blank=True)
    agents_needed = models.PositiveIntegerField(_("agents needed"), null=True, blank=True)
    roster_status = models.CharField(_("roster status"), max_length=60, blank=True, default="")

    class Meta:
        ordering = ["-week_start", "-id"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self) -> str:
        return f"{self.week_start} {self.queue or '*'} ({self.get_status_display()})"

    @property
    def is_published(self) -> bool:
        return self.status == ScheduleStatus.PUBLISHED


class ScheduleShift(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("schedule"))
    template = models.ForeignKey(ShiftTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("shift template"))
    day = models.PositiveSmallIntegerField(_("day"), choices=DAY_CHOICES)
    count = models.PositiveIntegerField(_("agents"))

    class Meta:
        ordering = ["schedule", "day", "template__start_time"]
        verbose_name = _("scheduled shift")
        verbose_name_plural = _("scheduled shifts")
        constraints = [models.UniqueConstraint(fields=["schedule", "template", "day"], name="planning_shift_unique")]

    def __str__(self) -> str:
        return f"{self.get_day_display()} {self.template} x{self.count}"


class ScheduleAssignment(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("schedule"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shift_assignments",
                              verbose_name=_("agent"))
    day = models.PositiveSmallIntegerField(_("day"), choices=DAY_CHOICES)
    template = models.ForeignKey(ShiftTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("shift template"))

    class Meta:
        ordering = ["schedule", "agent__username", "day"]
        verbose_name = _("shift assignment")
        verbose_name_plural = _("shift assignments")
        # One shift per agent per day, whatever the solver says.
        constraints = [models.UniqueConstraint(fields=["schedule", "agent", "day"], name="planning_assignment_one_per_day")]

    def __str__(self) -> str:
        return f"{self.agent} {self.get_day_display()} {self.template}"
