"""Outages in the admin: to look at, with their history. Every change goes
through the pages or the API (the services write the history and the
subscribers' messages); subscriptions can be cancelled here."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hotline.core.admin import ReadOnlyAdmin
from hotline.outages import services
from hotline.outages.models import Outage, OutageArea, OutageEvent, Subscription


class OutageAreaInline(admin.TabularInline):
    model = OutageArea
    extra = 0
    can_delete = False
    readonly_fields = ("area",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OutageEventInline(admin.TabularInline):
    model = OutageEvent
    extra = 0
    can_delete = False
    fields = ("seq", "kind", "at", "actor", "actor_role", "payload")
    readonly_fields = fields
    ordering = ("seq",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Outage)
class OutageAdmin(ReadOnlyAdmin):
    list_display = ("number", "outage_class", "status", "publishing_unit", "planned_start", "planned_end",
                    "published_at")
    list_filter = ("status", "outage_class")
    search_fields = ("number", "reason", "scope")
    date_hierarchy = "planned_start"
    list_select_related = ("publishing_unit",)
    inlines = [OutageAreaInline, OutageEventInline]


@admin.register(OutageEvent)
class OutageEventAdmin(ReadOnlyAdmin):
    list_display = ("outage", "seq", "kind", "at", "actor")
    list_filter = ("kind",)
    search_fields = ("outage__number",)
    list_select_related = ("outage", "actor")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "area", "channel", "address", "active", "created_at", "cancelled_at")
    list_filter = ("active", "channel")
    search_fields = ("address", "customer__account_number", "area__code", "area__name")
    list_select_related = ("customer", "area")
    raw_id_fields = ("customer", "area")
    actions = ["cancel_selected"]

    @admin.action(description=_("Cancel the selected subscriptions"))
    def cancel_selected(self, request, queryset):
        n = 0
        for subscription in queryset.filter(active=True):
            services.cancel_subscription(subscription=subscription, actor=request.user)
            n += 1
        self.message_user(request, ngettext("%(n)d subscription cancelled.", "%(n)d subscriptions cancelled.", n)
                          % {"n": n}, messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        # The action needs change permission; the form stays read-only.
        return request.user.is_active and request.user.is_staff and request.user.has_perm("outages.change_subscription")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Subscription._meta.fields]
