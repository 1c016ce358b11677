from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConfigGeneration(models.Model):
    """One row whose value goes up on every configuration edit, so that each
    process knows, by one tiny read every few seconds, when to drop its
    configuration cache (``hotline.core.cache``)."""

    value = models.BigIntegerField(_("generation"), default=0)

    class Meta:
        verbose_name = _("configuration generation")
        verbose_name_plural = _("configuration generations")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Job(models.Model):
    """Slow work (a schedule solve) asked for in a web request and done by a
    ``hotline worker``; the page that asked polls it. See ``core.jobs``."""

    kind = models.CharField(_("kind"), max_length=60)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("asked by"))
    created_at = models.DateTimeField(_("asked at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # A running job whose lease ran out lost its worker: another takes it.
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["status", "id"], name="job_pending_idx",
                                condition=models.Q(status__in=["queued", "running"]))]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


class AuditEntry(models.Model):
    """Who looked at or changed something sensitive: a reporter's identity,
    configuration (policies, users, roles, units, calendars). Append-only."""

    at = models.DateTimeField(_("time"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, verbose_name=_("user"))
    action = models.CharField(_("action"), max_length=40)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object"), max_length=40)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="core_audit_object_idx")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")


# --- outbox (core.outbox) -------------------------------------------------------

class OutboxState(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    FAILED = "failed", _("failed for good")
    DISCARDED = "discarded", _("discarded")


class OutboxMessage(models.Model):
    """One message to one recipient over one channel, written in the
    transaction of the event that caused it and sent later by a worker
    (``core.outbox``). ``dedup_key`` is unique: enqueueing it again is a
    no-op, and the channel passes it on as the receiver's idempotency key.
    ``order_key`` (optional): messages sharing one are delivered one at a
    time in the order they were written (``core.outbox.delivery``)."""

    channel = models.CharField(_("channel"), max_length=40)
    recipient = models.CharField(_("recipient"), max_length=500)
    payload = models.JSONField(_("payload"), default=dict)
    dedup_key = models.CharField(_("de-duplication key"), max_length=200)
    source = models.CharField(_("source"), max_length=200, blank=True, default="")
    # NULL: no ordering (most messages), and nothing for the raw INSERTs to write.
    order_key = models.CharField(_("ordering key"), max_length=200, null=True, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=OutboxState.choices, default=OutboxState.PENDING)
    # Attempts since enqueueing or the last manual retry (backoff, limit).
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Bumped on every claim and never reset: a worker whose lease lapsed
    # cannot record an outcome over a later claim's.
    claims = models.PositiveIntegerField(_("claims"), default=0)
    created_at = models.DateTimeField(_("created at"))
    # Pending: when to try; sending: when the lease lapses. NULL once settled.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    ack = models.CharField(_("receipt"), max_length=200, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        # A constraint, not unique=True: on PostgreSQL that would add a second
        # (LIKE-pattern) index, one more to maintain on every bulk enqueue.
        constraints = [models.UniqueConstraint(fields=["dedup_key"], name="core_outbox_dedup_key_unique")]
        indexes = [models.Index(fields=["channel", "next_attempt_at"], name="core_outbox_due_idx",
                                condition=models.Q(state__in=["pending", "sending"])),
                   # The claim's "is an older message of this key still undelivered?"
                   models.Index(fields=["order_key", "id"], name="core_outbox_order_idx",
                                condition=models.Q(state__in=["pending", "sending"], order_key__isnull=False))]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient} ({self.get_state_display()})"


class OutboxEvent(models.Model):
    """Every state change of an outbox message, append-only."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.PROTECT, related_name="events",
                                verbose_name=_("message"))
    at = models.DateTimeField(_("time"))
    from_state = models.CharField(_("from state"), max_length=12, blank=True, default="")
    to_state = models.CharField(_("to state"), max_length=12)
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    detail = models.TextField(_("detail"), blank=True, default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.from_state or '·'} → {self.to_state}"


class OutboxRate(models.Model):
    """A token bucket per rate-limited channel, shared by every worker: a
    claim locks the row, refills it for the time passed and takes what it
    sends (``core.outbox.claim``)."""

    channel = models.CharField(_("channel"), max_length=40, unique=True)
    tokens = models.FloatField(_("tokens"), default=0)
    refilled_at = models.DateTimeField(_("refilled at"))

    class Meta:
        verbose_name = _("outbox rate bucket")
        verbose_name_plural = _("outbox rate buckets")


class RateCounter(models.Model):
    """Requests of one identity in one fixed window (``core.ratelimit``),
    counted by a single upsert statement: exact across every web process,
    and one write a request (the database cache's ``incr`` was a read, a
    count of the whole cache table and a write)."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    count = models.PositiveIntegerField(_("count"), default=0)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("rate counter")
        verbose_name_plural = _("rate counters")


# --- periodic tasks (core.periodic) ---------------------------------------------

class PeriodicTaskRun(models.Model):
    """The lease of one periodic task (one row per slot: a task that may run
    in several workers at once has several). A worker runs the task only
    after a compare-and-set claim of its row (``core.periodic.claim``)."""

    name = models.CharField(_("task"), max_length=100)
    slot = models.PositiveSmallIntegerField(_("slot"), default=0)
    next_run_at = models.DateTimeField(_("next run at"))
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    owner = models.CharField(_("worker"), max_length=100, blank=True, default="")
    runs = models.PositiveBigIntegerField(_("runs"), default=0)
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        ordering = ["name", "slot"]
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="core_periodic_task_slot_unique")]
        verbose_name = _("periodic task")
        verbose_name_plural = _("periodic tasks")

    def __str__(self) -> str:
        return self.name if self.slot == 0 else f"{self.name} #{self.slot}"


class PolicySetting(models.Model):
    """An administrator's value for one declared policy number (``core.policy``)."""

    key = models.CharField(_("setting"), max_length=80, unique=True)
    value = models.JSONField(_("value"))
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))

    class Meta:
        ordering = ["key"]
        verbose_name = _("policy setting")
        verbose_name_plural = _("policy settings")

    def __str__(self) -> str:
        return self.key
