"""What the reports need that no other app records: the teams (班组) of a
center's agents, for the daily report's per-team figures (C4c)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.organisation.models import Unit


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
