"""Clocks on any subject (a work order, a callback task, an outage
publication, …) and the notices the sweep raises.

A clock names its subject by ``subject_type`` and ``subject_id``. Work
orders, by far the commonest subject, also carry a foreign key (``order``)
so that inboxes and boards join clocks to orders by key; the engine itself
never needs it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from hotline.catalog.models import TimeLimitRule
from hotline.organisation.models import Unit

WORK_ORDER = "work_order"


class ClockStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    CANCELLED = "cancelled", _("Cancelled")


class Clock(models.Model):
    subject_type = models.CharField(_("subject type"), max_length=30, default=WORK_ORDER)
    subject_id = models.BigIntegerField(_("subject"))
    # Indexed by clock_unique / clock_unit_status_idx, which lead with them.
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, related_name="clocks", db_index=False,
                              null=True, blank=True, verbose_name=_("work order"))
    metric = models.CharField(_("metric"), max_length=20)
    round = models.PositiveSmallIntegerField(default=0, verbose_name=_("round"))
    # The policy rule a work-order clock was started from; other subjects'
    # clocks carry their limit in their own columns.
    rule = models.ForeignKey(TimeLimitRule, on_delete=models.PROTECT, related_name="+", db_index=False, null=True, blank=True,
                             verbose_name=_("time-limit rule"))
    responsible_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="clocks", null=True, blank=True, db_index=False,
                                         verbose_name=_("responsible unit"))
    # Copies of the subject's scope (the center that owns it, the unit that
    # holds it now), kept by the subject's app (work orders: workorders.clocks),
    # so that a board counts what a user may see without reading the
    # subjects: joining 100,000 open notices to their orders for the scope
    # cost half a second. Null where the subject has none.
    scope_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False,
                                   verbose_name=_("center scope"))
    holder_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False,
                                    verbose_name=_("held by"))
    started_at = models.DateTimeField(_("started"))
    warn_at = models.DateTimeField(_("warning at"))
    due_at = models.DateTimeField(_("due"))
    escalation_seconds = models.PositiveIntegerField(default=0, verbose_name=_("escalation gap (seconds)"))
    escalation_levels = models.PositiveSmallIntegerField(default=2, verbose_name=_("escalation levels"))
    status = models.CharField(_("status"), max_length=10, choices=ClockStatus.choices, default=ClockStatus.RUNNING)
    # 0 nothing raised; 1 warned; 2 first supervision notice; 2+k escalation k.
    stage = models.PositiveSmallIntegerField(default=0, verbose_name=_("stage"))
    next_check_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next check at"))
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    stopped_by = models.CharField(max_length=20, blank=True, default="", verbose_name=_("stopped by"))
    elapsed_seconds = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("elapsed seconds"))
    overdue_seconds = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("overdue seconds"))

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "metric", "round"], name="clock_unique"),
            # Other subjects: the same uniqueness on the subject columns (work
            # orders' is the one above, so their rows carry no second index).
            models.UniqueConstraint(fields=["subject_type", "subject_id", "metric", "round"], name="clock_subject_unique",
                                    condition=Q(order__isnull=True)),
            models.CheckConstraint(condition=Q(order__isnull=True) | Q(subject_type=WORK_ORDER, subject_id=F("order_id")),
                                   name="clock_order_is_subject"),
        ]
        indexes = [
            # The sweep reads only clocks with something still to raise.
            models.Index(fields=["next_check_at"], name="clock_due_sweep_idx", condition=Q(next_check_at__isnull=False)),
            models.Index(fields=["status", "due_at"], name="clock_status_due_idx"),
            models.Index(fields=["responsible_unit", "status"], name="clock_unit_status_idx"),
            # An open order's next due clock (unit inbox, order search), and
            # the shift-leader board's counts and page read from the index
            # alone (PostgreSQL: the included columns; SQLite has none).
            models.Index(fields=["order", "due_at"], include=["warn_at", "responsible_unit", "metric", "id"],
                         name="clock_running_cover_idx", condition=Q(status="running")),
            # The board's counts and page over a scope: running work-order
            # clocks by the center that owns the order or the unit holding it.
            models.Index(fields=["scope_unit", "due_at"], include=["warn_at", "id"], name="clock_running_scope_idx",
                         condition=Q(status="running", order__isnull=False)),
            models.Index(fields=["holder_unit", "due_at"], include=["warn_at", "id"], name="clock_running_holder_idx",
                         condition=Q(status="running", order__isnull=False)),
        ]
        verbose_name = _("clock")
        verbose_name_plural = _("clocks")

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id}/{self.metric}"

    @property
    def breached(self) -> bool:
        return self.status == ClockStatus.BREACHED or (self.status == ClockStatus.RUNNING and self.stage >= 2)


class NoticeKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    SUPERVISION = "supervision", _("Supervision notice")
    MANUAL = "manual", _("Manual reminder")


class Notice(models.Model):
    """A warning or supervision notice (督办单). Immutable once raised (but
    for the copy of its subject's holder, which follows the subject); the
    unit's answer is recorded on it once and as an order event."""

    clock = models.ForeignKey(Clock, on_delete=models.PROTECT, null=True, blank=True, related_name="notices",
                              verbose_name=_("clock"))
    subject_type = models.CharField(_("subject type"), max_length=30, default=WORK_ORDER)
    subject_id = models.BigIntegerField(_("subject"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, related_name="notices", null=True, blank=True,
                              verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=12, choices=NoticeKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    metric = models.CharField(_("metric"), max_length=20, blank=True, default="")
    # Indexed by notice_unit_open_idx (unit first): no index of its own.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="notices",
                             db_index=False, verbose_name=_("addressed to"))
    supervisor_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="supervised_notices",
                                        verbose_name=_("supervising unit"))
    # The subject's scope, as on the clock (see Clock.scope_unit).
    scope_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False,
                                   verbose_name=_("center scope"))
    holder_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False,
                                    verbose_name=_("held by"))
    due_at = models.DateTimeField(_("due at"), help_text=_("When the notice should have been raised"))
    created_at = models.DateTimeField(_("raised at"), db_index=True)
    # Only manual reminders have a creator and only answered notices an
    # answerer: partial indexes (below) keep the sweep's notices out of both.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   db_index=False, verbose_name=_("created by"))
    message = models.CharField(_("message"), max_length=300, blank=True, default="")
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    db_index=False, verbose_name=_("answered by"))
    answer = models.CharField(_("answer"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Exactly once, whatever the number of workers: the database refuses a second copy.
            models.UniqueConstraint(fields=["clock", "kind", "level"], name="notice_once", condition=~Q(kind="manual")),
            models.CheckConstraint(condition=Q(order__isnull=True) | Q(subject_type=WORK_ORDER, subject_id=F("order_id")),
                                   name="notice_order_is_subject"),
        ]
        indexes = [
            models.Index(fields=["unit", "answered_at"], name="notice_unit_open_idx"),
            models.Index(fields=["kind", "answered_at"], name="notice_kind_open_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="notice_subject_idx", condition=Q(order__isnull=True)),
            models.Index(fields=["created_by"], name="notice_created_by_idx", condition=Q(created_by__isnull=False)),
            models.Index(fields=["answered_by"], name="notice_answered_by_idx", condition=Q(answered_by__isnull=False)),
            # Open supervision notices are few among millions of answered ones and warnings.
            models.Index(F("level").desc(), "due_at", name="notice_open_sup_idx",
                         condition=Q(kind="supervision", answered_at__isnull=True)),
            # The board's counts of open supervision notices over a scope.
            models.Index(fields=["scope_unit", "level"], include=["unit", "id"], name="notice_open_scope_idx",
                         condition=Q(kind="supervision", answered_at__isnull=True, order__isnull=False)),
            models.Index(fields=["holder_unit", "level"], include=["unit", "id"], name="notice_open_holder_idx",
                         condition=Q(kind="supervision", answered_at__isnull=True, order__isnull=False)),
        ]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} L{self.level} {self.subject_type}:{self.subject_id}"
