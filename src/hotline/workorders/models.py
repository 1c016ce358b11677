"""Work orders and their append-only event history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Right
from django.utils.translation import gettext_lazy as _

from hotline.catalog.lifecycle import TERMINAL_STATES
from hotline.catalog.models import BusinessType, LifecycleVersion, PolicyVersion, SubClass
from hotline.contacts.models import Contact
from hotline.organisation.models import Customer, ServiceArea, Unit


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACCEPTED = "accepted", _("Accepted")
    DISPATCHED = "dispatched", _("Dispatched")
    RECEIVED = "received", _("Received by unit")
    ON_SITE = "on_site", _("On site")
    RESOLVED = "resolved", _("Resolved")
    REPLIED = "replied", _("Replied")
    REVIEWED = "reviewed", _("Reviewed")
    CALLBACK = "callback", _("Called back")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


# The one list of terminal states lives with the life-cycle vocabulary.
TERMINAL = tuple(State(s) for s in sorted(TERMINAL_STATES))


class FaultScope(models.TextChoices):
    NONE = "", _("Not a repair")
    COMPANY = "company", _("Supply-company fault or cause unknown")
    CUSTOMER_INTERNAL = "customer_internal", _("Customer-internal fault")
    PLANNED_OUTAGE = "planned_outage", _("Planned or published outage")
    ARREARS = "arrears", _("Arrears disconnection")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WEB = "web", _("Web")
    API = "api", _("API")
    LINKAGE = "linkage", _("Linkage partner")


class WorkOrder(models.Model):
    number = models.CharField(_("number"), max_length=24, unique=True)
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="orders", verbose_name=_("business type"), db_index=False)
    sub_class = models.ForeignKey(SubClass, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("sub-class"), db_index=False)
    priority = models.CharField(_("priority"), max_length=20, blank=True, default="")
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.ACCEPTED)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("customer"), db_index=False)
    caller_name = models.CharField(_("caller name"), max_length=100, blank=True, default="")
    caller_phone = models.CharField(_("caller phone"), max_length=20, blank=True, default="", db_index=True)
    caller_phone_ext = models.CharField(max_length=8, blank=True, default="", verbose_name=_("extension"))
    # The last four digits, kept by the database itself (every writer, bulk
    # loads included): a search by a phone tail is an equality on a plain
    # btree, on SQLite and PostgreSQL alike (see selectors.search_orders).
    caller_phone_tail = models.GeneratedField(expression=Right("caller_phone", 4), output_field=models.CharField(max_length=4),
                                              db_persist=True)
    address = models.CharField(_("address"), max_length=300, blank=True, default="")
    service_area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("service area"), db_index=False)
    area_class = models.CharField(_("area class"), max_length=10, blank=True, default="")
    description = models.TextField(_("description"), max_length=4000)
    fault_scope = models.CharField(_("fault scope"), max_length=20, choices=FaultScope.choices, blank=True, default="")
    paid_service = models.BooleanField(_("paid service (customer told)"), default=False)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    reply_wanted = models.BooleanField(_("reply wanted"), default=True)

    # First-contact ownership: the accepting agent until closure or handover.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_orders", verbose_name=_("owner"), db_index=False)
    scope_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="scoped_orders", verbose_name=_("center scope"), db_index=False)
    scope_path = models.CharField(max_length=255, verbose_name=_("scope path"))
    assigned_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_orders", verbose_name=_("handling unit"), db_index=False)
    assigned_path = models.CharField(max_length=255, blank=True, default="", verbose_name=_("assigned path"))

    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, verbose_name=_("time-limit policy"), db_index=False)
    # The life-cycle the order was created under (spec D0b); later edits of
    # the type's life-cycle do not change what this order may do.
    lifecycle_version = models.ForeignKey(LifecycleVersion, on_delete=models.PROTECT, null=True, blank=True,
                                          verbose_name=_("life-cycle version"), db_index=False, related_name="+")
    master = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_orders", verbose_name=_("master order"))
    chased_order = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="chase_ups", verbose_name=_("chased order"))
    partner = models.CharField(_("linkage partner"), max_length=40, blank=True, default="")
    partner_reference = models.CharField(_("partner reference"), max_length=80, blank=True, default="")

    return_count = models.PositiveSmallIntegerField(_("returns"), default=0)
    last_seq = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("last event number"))
    created_at = models.DateTimeField(_("accepted at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Set by a reopen or unmerge: clocks that already ran may start a new
    # round when their start event comes again.
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    # The crew's latest estimate (D3.6b), told to callers of the same fault.
    estimated_restoration_at = models.DateTimeField(_("estimated restoration"), null=True, blank=True)
    # The handling record as it stands (workorders.handling): what the unit
    # recorded on its latest resolve and reply, each item with its label and
    # text; every recording is also in that action's event.
    handling_record = models.JSONField(_("handling record"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        # Every index costs each create an index insert and each query plan a
        # candidate, so the foreign keys carry no index of their own where a
        # composite below leads with them, nor where the column has a handful
        # of values (type, sub-class, policy version).
        indexes = [
            # Scope filters use unit ids (organisation.selectors.subtree_unit_ids).
            models.Index(fields=["assigned_unit", "state"], name="wo_assigned_state_idx"),
            models.Index(fields=["owner", "state"], name="wo_owner_state_idx"),
            models.Index(fields=["scope_unit", "state"], name="wo_scope_state_idx"),
            models.Index(fields=["customer", "created_at"], name="wo_customer_idx"),
            # Order search by the caller's phone tail (4+ digits).
            models.Index(fields=["caller_phone_tail", "created_at"], name="wo_phone_tail_idx"),
            # Open orders at a fault point (duplicate suggestions, outages):
            # small, and matching the query's predicate, so the planner takes
            # it over created_at even on a storm day.
            models.Index(fields=["service_area", "created_at"], name="wo_area_open_idx",
                         condition=Q(master__isnull=True) & ~Q(state__in=["closed", "merged", "cancelled"])),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL


class WorkOrderEvent(models.Model):
    """Append-only history. ``seq`` is per order and gapless."""

    # (order, seq) is unique and indexed: no separate index on order.
    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="events", db_index=False,
                              verbose_name=_("work order"))
    seq = models.PositiveIntegerField(verbose_name=_("number"))
    kind = models.CharField(_("event"), max_length=20)
    # The engine's events (warnings, notices) have no actor: a partial index
    # (below) keeps millions of them out of the actor index.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              db_index=False, verbose_name=_("actor"))
    actor_role = models.CharField(max_length=20, blank=True, default="", verbose_name=_("actor's role"))
    actor_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
                                   verbose_name=_("actor's unit"))
    at = models.DateTimeField(_("time"))
    from_state = models.CharField(max_length=12, blank=True, default="", verbose_name=_("from state"))
    to_state = models.CharField(max_length=12, blank=True, default="", verbose_name=_("to state"))
    payload = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta:
        ordering = ["order", "seq"]
        constraints = [models.UniqueConstraint(fields=["order", "seq"], name="wo_event_seq_unique")]
        indexes = [models.Index(fields=["actor"], name="wo_event_actor_idx", condition=Q(actor__isnull=False))]
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")

    def __str__(self) -> str:
        return f"{self.order_id}#{self.seq} {self.kind}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise RuntimeError("work-order events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("work-order events are append-only")


class OrderContact(models.Model):
    """An order and a contact it came from: one call may give several orders,
    one order may gather several calls (the first report, chase-ups)."""

    class Kind(models.TextChoices):
        ORIGIN = "origin", _("Reported in")
        CHASE = "chase", _("Chase-up")

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="contact_links", db_index=False,
                              verbose_name=_("work order"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="order_links", verbose_name=_("contact"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ORIGIN)
    linked_at = models.DateTimeField(_("linked at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "contact"], name="order_contact_unique")]
        verbose_name = _("order contact")
        verbose_name_plural = _("order contacts")


class ReporterIdentity(models.Model):
    """Who reported (举报); visible only to authorised roles, every view audited."""

    order = models.OneToOneField(WorkOrder, on_delete=models.PROTECT, related_name="reporter", verbose_name=_("work order"))
    name = models.CharField(max_length=100, blank=True, default="", verbose_name=_("name"))
    phone = models.CharField(max_length=20, blank=True, default="", verbose_name=_("phone"))
    id_number = models.CharField(max_length=30, blank=True, default="", verbose_name=_("ID number"))

    class Meta:
        verbose_name = _("reporter identity")
        verbose_name_plural = _("reporter identities")


class IdempotencyKey(models.Model):
    """An API create seen before returns the same order, not a second one."""

    key = models.CharField(max_length=100, verbose_name=_("key"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False,
                             verbose_name=_("user"))  # (user, key) is unique
    request_hash = models.CharField(max_length=64, verbose_name=_("request hash"))
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, verbose_name=_("work order"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique")]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")


class NumberCounter(models.Model):
    """Per-day, per-prefix order number sequence (row-locked increment)."""

    key = models.CharField(max_length=20, unique=True, verbose_name=_("key"))
    last = models.PositiveIntegerField(default=0, verbose_name=_("last number"))

    class Meta:
        verbose_name = _("number counter")
        verbose_name_plural = _("number counters")
