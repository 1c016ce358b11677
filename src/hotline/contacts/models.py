"""One record per contact: a call, a web form, an API submission, a
partner's push. Orders link to the contacts they came from (workorders)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    WEB = "web", _("Web form")
    API = "api", _("API")
    PARTNER = "partner", _("Linkage partner")


class Contact(models.Model):
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices, default=ContactChannel.PHONE)
    # Where the record came from (a switch, the intake page, an API client)
    # and its id there: the pair is unique, so a source replaying its
    # events or a client retrying its request never makes a second contact.
    source = models.CharField(_("source"), max_length=60)
    source_id = models.CharField(_("source id"), max_length=120)
    caller_number = models.CharField(_("caller number"), max_length=20, blank=True, default="", db_index=True)
    queue = models.CharField(_("queue"), max_length=60, blank=True, default="")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("agent"), db_index=False)
    started_at = models.DateTimeField(_("started at"), db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    recording_ref = models.CharField(_("recording"), max_length=300, blank=True, default="",
                                     help_text=_("Where the switch keeps the call's recording"))

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="contact_source_unique")]
        indexes = [models.Index(fields=["agent", "started_at"], name="contact_agent_idx")]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.caller_number} {self.started_at:%Y-%m-%d %H:%M}"
