"""Outage notices (停电信息): the outage, its append-only revision history,
and the customers who subscribed to hear of outages (spec §7, D1i)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hotline.organisation.models import Customer, ServiceArea, Unit


class OutageClass(models.TextChoices):
    # Production (生产类) outages: dispatch and operations publish them (D7a).
    PLANNED = "planned", _("Planned outage")
    TEMPORARY = "temporary", _("Temporary outage")
    GRID_FAULT = "grid_fault", _("Grid fault outage")
    OVER_CAPACITY = "over_capacity", _("Over-capacity curtailment")
    # Marketing (营销类) outages: the marketing department publishes them.
    ARREARS = "arrears", _("Arrears disconnection")
    THEFT = "theft", _("Electricity-theft disconnection")
    CONTRACT_VIOLATION = "contract_violation", _("Contract-violation disconnection")
    ORDERLY_USE = "orderly_use", _("Orderly-use curtailment")


PRODUCTION_CLASSES = frozenset({OutageClass.PLANNED, OutageClass.TEMPORARY, OutageClass.GRID_FAULT,
                                OutageClass.OVER_CAPACITY})
MARKETING_CLASSES = frozenset({OutageClass.ARREARS, OutageClass.THEFT, OutageClass.CONTRACT_VIOLATION,
                               OutageClass.ORDERLY_USE})


class OutageStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("outage", "Draft")
    PUBLISHED = "published", _("Published")
    STARTED = "started", _("Power off")
    DELAYED = "delayed", _("Restoration delayed")
    RESTORED = "restored", _("Restored")
    CANCELLED = "cancelled", pgettext_lazy("outage", "Cancelled")


# Published and not over: what intake and customers are told about.
ACTIVE_STATUSES = (OutageStatus.PUBLISHED, OutageStatus.STARTED, OutageStatus.DELAYED)
# Power is (or was) off: what counts towards a frequent outage (D7h).
OFF_STATUSES = (OutageStatus.STARTED, OutageStatus.DELAYED, OutageStatus.RESTORED)
FINAL_STATUSES = (OutageStatus.RESTORED, OutageStatus.CANCELLED)


class Outage(models.Model):
    """One outage notice. Every change goes through ``outages.services`` and
    leaves an :class:`OutageEvent` in the same transaction."""

    number = models.CharField(pgettext_lazy("outage", "number"), max_length=40, unique=True)
    outage_class = models.CharField(_("outage class"), max_length=20, choices=OutageClass.choices)
    status = models.CharField(_("status"), max_length=12, choices=OutageStatus.choices, default=OutageStatus.DRAFT)
    publishing_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="outages",
                                        verbose_name=_("publishing unit"))
    areas = models.ManyToManyField(ServiceArea, through="OutageArea", related_name="outages",
                                   verbose_name=_("affected service areas"))
    lines = models.JSONField(_("lines"), default=list, blank=True, help_text=_("Names or codes of the lines"))
    transformers = models.JSONField(_("transformers"), default=list, blank=True,
                                    help_text=_("Names or codes of the transformers"))
    planned_start = models.DateTimeField(_("planned start"))
    planned_end = models.DateTimeField(_("planned end"))
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_restoration = models.DateTimeField(_("actual restoration"), null=True, blank=True)
    # The trip of a grid fault: its publication lead time counts from here (D7d).
    occurred_at = models.DateTimeField(_("trip time"), null=True, blank=True)
    reason = models.TextField(pgettext_lazy("outage", "reason"))
    scope = models.TextField(_("scope"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("published by"))
    updated_at = models.DateTimeField(_("updated at"))
    # The last event's seq: the row is locked for every change, so seqs are gapless.
    last_seq = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("last event number"))

    class Meta:
        ordering = ["-planned_start", "-id"]
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        indexes = [
            models.Index(fields=["status", "planned_start"], name="outage_status_start_idx"),
            models.Index(fields=["planned_start"], name="outage_planned_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_outage_class_display()}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_production(self) -> bool:
        return self.outage_class in PRODUCTION_CLASSES


class OutageArea(models.Model):
    """An area an outage names. A township or village covers everything
    below it; selectors expand the tree, nothing is copied here."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="area_links", db_index=False,
                               verbose_name=_("outage"))
    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("service area"))
    # False once the outage is restored or cancelled (set with its status, in
    # its transaction): "what is on over this area" reads only live links, so
    # it stays a few index entries however long the history grows.
    live = models.BooleanField(default=True, verbose_name=_("in force"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["outage", "area"], name="outage_area_unique")]
        # Area first: "outages naming these areas" is an index-only lookup.
        indexes = [models.Index(fields=["area", "outage"], name="outage_area_lookup_idx"),
                   models.Index(fields=["area", "outage"], name="outage_area_live_idx", condition=models.Q(live=True))]
        verbose_name = _("affected area")
        verbose_name_plural = _("affected areas")

    def __str__(self) -> str:
        return f"{self.outage_id} → {self.area_id}"


class EventKind(models.TextChoices):
    DRAFTED = "drafted", pgettext_lazy("outage event", "Drafted")
    PUBLISHED = "published", pgettext_lazy("outage event", "Published")
    REVISED = "revised", pgettext_lazy("outage event", "Revised")
    STARTED = "started", pgettext_lazy("outage event", "Power went off")
    DELAYED = "delayed", pgettext_lazy("outage event", "Restoration delayed")
    RESTORED = "restored", pgettext_lazy("outage event", "Power restored")
    CANCELLED = "cancelled", pgettext_lazy("outage event", "Cancelled")


class OutageEvent(models.Model):
    """Append-only revision history: ``payload["changes"]`` holds each
    changed field as ``{"old": …, "new": …}``."""

    outage = models.ForeignKey(Outage, on_delete=models.PROTECT, related_name="events", db_index=False,
                               verbose_name=_("outage"))
    seq = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("event"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    actor_role = models.CharField(_("role"), max_length=20, blank=True, default="")
    payload = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["outage", "seq"]
        constraints = [models.UniqueConstraint(fields=["outage", "seq"], name="outage_event_seq_unique")]
        verbose_name = _("outage event")
        verbose_name_plural = _("outage events")

    def __str__(self) -> str:
        return f"{self.outage_id}#{self.seq} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("outage events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("outage events are append-only")


class SubscriptionChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class Subscription(models.Model):
    """A customer's wish to hear of outages (订阅服务, D1i): for an account
    (the account's service area) or for a service area."""

    # No plain indexes: the unique constraints below lead with these columns.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, db_index=False,
                                 related_name="outage_subscriptions", verbose_name=_("account"))
    area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, null=True, blank=True, db_index=False,
                             related_name="outage_subscriptions", verbose_name=_("service area"))
    channel = models.CharField(_("channel"), max_length=10, choices=SubscriptionChannel.choices)
    # Normalised: a phone number for SMS, a lower-case e-mail address.
    address = models.CharField(pgettext_lazy("outage", "address"), max_length=254)
    active = models.BooleanField(pgettext_lazy("outage", "active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outage subscription")
        verbose_name_plural = _("outage subscriptions")
        constraints = [
            models.CheckConstraint(condition=models.Q(customer__isnull=False, area__isnull=True)
                                   | models.Q(customer__isnull=True, area__isnull=False),
                                   name="outage_subscription_one_target"),
            models.UniqueConstraint(fields=["customer", "channel", "address"], condition=models.Q(customer__isnull=False),
                                    name="outage_subscription_customer_unique"),
            models.UniqueConstraint(fields=["area", "channel", "address"], condition=models.Q(area__isnull=False),
                                    name="outage_subscription_area_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.target} · {self.get_channel_display()} {self.address}"

    @property
    def target(self):
        return self.customer if self.customer_id else self.area
