"""What the reports need that no other app records: the teams (班组) of a
center's agents, for the daily report's per-team figures (C4c)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.organisation.models import Unit
from hotline.reports.labels import EVENTS, LABELS


class Team(models.Model):
    """A team of a center's agents (a shift group, 班组), as the center
    reports on them. Agents stay members of the center's unit (their
    scope); a team only groups them."""

    center = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="report_teams",
                               limit_choices_to={"kind": "center"}, verbose_name=_("customer-service center"))
    name = models.CharField(_("name"), max_length=60)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="report_teams", blank=True,
                                     verbose_name=_("members"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["center", "name"]
        constraints = [models.UniqueConstraint(fields=["center", "name"], name="report_team_unique")]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class ScoreMethod(models.TextChoices):
    PROPORTIONAL = "proportional", _("In proportion to the target")
    THRESHOLD = "threshold", _("All points when the target is met, none otherwise")


class ScoreItem(models.Model):
    """One metric of the monthly center score (C4g): how many of the 100
    points it carries and how they are earned against its target."""

    metric = models.CharField(_("metric"), max_length=40, choices=[(k, v[0]) for k, v in LABELS.items()])
    points = models.DecimalField(_("points"), max_digits=5, decimal_places=2)
    method = models.CharField(_("method"), max_length=12, choices=ScoreMethod.choices, default=ScoreMethod.PROPORTIONAL)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "pk"]
        constraints = [models.UniqueConstraint(fields=["metric"], name="score_item_unique")]
        verbose_name = _("score item")
        verbose_name_plural = _("score items")

    def __str__(self) -> str:
        return self.metric


class ScoreDeduction(models.Model):
    """A deduction of the monthly score (C4g): points off for each event of
    a kind in the month, at most ``cap`` in all (e.g. −2 for each call
    that rang longer than the limit [000])."""

    event = models.CharField(_("event"), max_length=40, choices=list(EVENTS.items()))
    points_each = models.DecimalField(_("points each time"), max_digits=5, decimal_places=2)
    cap = models.DecimalField(_("at most"), max_digits=5, decimal_places=2, default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["event"], name="score_deduction_unique")]
        verbose_name = _("score deduction")
        verbose_name_plural = _("score deductions")

    def __str__(self) -> str:
        return self.event
