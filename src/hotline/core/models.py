from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConfigGeneration(models.Model):
    """One row whose value goes up on every configuration edit, so that each
    process knows, by one tiny read every few seconds, when to drop its
    configuration cache (``hotline.core.cache``)."""

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "configuration generation"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Job(models.Model):
    """Slow work (a schedule solve) asked for in a web request and done by a
    ``hotline worker``; the page that asked polls it. See ``core.jobs``."""

    kind = models.CharField(_("kind"), max_length=60)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("asked by"))
    created_at = models.DateTimeField(_("asked at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # A running job whose lease ran out lost its worker: another takes it.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["status", "id"], name="job_pending_idx",
                                condition=models.Q(status__in=["queued", "running"]))]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

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
