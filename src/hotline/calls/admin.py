"""Calls in the admin. Sources and agent identities are set up here; events,
calls and agents' states are the switch's facts, to look at: the events
not placed yet show with their reason (C1i) and can be tried again now."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hotline.calls import selectors, services
from hotline.calls.models import (
    AgentIdentity,
    AgentState,
    AgentStateEvent,
    Call,
    CallDisposition,
    CallEvent,
    CallRing,
    Escalation,
    EventSource,
    IntervalStat,
    LogCursor,
    SwitchCommand,
)
from hotline.core import clock
from hotline.core.admin import ReadOnlyAdmin


class EventSourceForm(forms.ModelForm):
    """The command secret is written, never shown: left empty, it stays."""

    command_secret = forms.CharField(label=_("command secret"), required=False, max_length=200,
                                     widget=forms.PasswordInput(render_value=False),
                                     help_text=EventSource._meta.get_field("command_secret").help_text)

    class Meta:
        model = EventSource
        fields = "__all__"

    def clean_command_secret(self):
        value = self.cleaned_data.get("command_secret") or ""
        return value if value else (self.instance.command_secret if self.instance.pk else "")


@admin.register(EventSource)
class EventSourceAdmin(admin.ModelAdmin):
    form = EventSourceForm
    list_display = ("name", "kind", "token_prefix", "carries_hold", "carries_wrapup", "command_host", "active",
                    "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "kind", "carries_hold", "carries_wrapup", "active", "token_prefix",
                           "created_at")}),
        # Asterisk AMI and FreeSWITCH ESL sources only (docs/switch-commands.md).
        (_("Commands to the switch"), {"fields": (
            "command_host", "command_port", "command_username", "command_secret", "agent_interface", "login_queues",
            "transfer_expert", "transfer_shift_leader", "transfer_attended")}),
    )
    readonly_fields = ("token_prefix", "created_at")
    actions = ["issue_token"]

    def save_model(self, request, obj, form, change):
        if not change:
            from hotline.core import clock

            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return False  # its events and calls keep it

    @admin.action(description=_("Issue a new API token (the old one stops working)"))
    def issue_token(self, request, queryset):
        for source in queryset:
            key = services.issue_source_token(source)
            self.message_user(request, _("New token of %(source)s (shown once): %(key)s")
                              % {"source": source.name, "key": key}, messages.WARNING)


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "source", "type", "call_id", "agent_ref", "queue", "state", "reason", "attempts",
                    "retry_at")
    list_filter = ("state", "reason", "type", "source")
    search_fields = ("call_id", "agent_ref", "source_event_id")
    date_hierarchy = "occurred_at"
    list_select_related = ("source",)
    readonly_fields = ("source", "source_event_id", "type", "occurred_at", "call_id", "agent_ref", "queue", "payload",
                       "received_at", "state", "reason", "call_record", "attempts", "retry_at")
    actions = ["retry_now"]

    @admin.action(description=_("Try to place the selected events now"))
    def retry_now(self, request, queryset):
        from django.db import transaction

        from hotline.core import clock

        rows = list(queryset.filter(retry_at__isnull=False))
        with transaction.atomic():
            for source_id in sorted({r.source_id for r in rows}):
                source = EventSource.objects.select_for_update().get(pk=source_id)
                services._Placer(source, clock.now()).retry([r for r in rows if r.source_id == source_id])
        placed = CallEvent.objects.filter(pk__in=[r.pk for r in rows], retry_at__isnull=True).count()
        self.message_user(request, ngettext("%(n)d event placed.", "%(n)d events placed.", placed) % {"n": placed},
                          messages.SUCCESS)


class CallRingInline(admin.TabularInline):
    model = CallRing
    extra = 0
    can_delete = False
    fields = ("seq", "agent_ref", "agent", "at", "ring_s", "outcome")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StaleFilter(admin.SimpleListFilter):
    """Calls still waiting or talking whose end never arrived (C5f)."""

    title = _("end never arrived")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return (("yes", _("Stale: no event for hours")),)

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(selectors.stale_open_calls(clock.now()))
        return queryset


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("offered_at", "queue", "caller_number", "status", "stale", "wait_s", "agent", "ring_s", "talk_s",
                    "hung_up_by", "transfers", "last_event_at")
    list_filter = (StaleFilter, "status", "queue", "source", "abandon_reason")
    search_fields = ("call_id", "caller_number", "agent_ref")
    date_hierarchy = "offered_at"
    list_select_related = ("agent", "source")
    inlines = [CallRingInline]
    readonly_fields = ("stale",)

    @admin.display(description=_("stale"))
    def stale(self, obj):
        """Why the call counts as stale (no end received), or empty."""
        return selectors.stale_reason(obj, clock.now()) or ""


@admin.register(AgentIdentity)
class AgentIdentityAdmin(admin.ModelAdmin):
    list_display = ("source", "agent_ref", "user")
    list_filter = ("source",)
    search_fields = ("agent_ref", "user__username", "user__display_name")
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change):
        # Through the service: the agent's waiting events are placed at once.
        saved = services.set_agent_identity(source=obj.source, agent_ref=obj.agent_ref, user=obj.user)
        obj.pk = saved.pk


@admin.register(AgentState)
class AgentStateAdmin(ReadOnlyAdmin):
    list_display = ("user", "state", "reason", "since", "presence", "activity", "updated_at")
    list_filter = ("state",)
    search_fields = ("user__username", "user__display_name")
    list_select_related = ("user",)


@admin.register(AgentStateEvent)
class AgentStateEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "dimension", "state", "reason", "queue", "call")
    list_filter = ("dimension", "state")
    search_fields = ("user__username", "user__display_name")
    date_hierarchy = "at"
    list_select_related = ("user",)


@admin.register(LogCursor)
class LogCursorAdmin(ReadOnlyAdmin):
    list_display = ("source", "path", "inode", "offset", "updated_at")


@admin.register(IntervalStat)
class IntervalStatAdmin(ReadOnlyAdmin):
    list_display = ("start", "minutes", "queue", "agent_id", "offered", "answered", "abandoned", "answered_within_t",
                    "handle_s")
    list_filter = ("minutes", "queue")
    date_hierarchy = "start"


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("at", "agent", "target", "call", "note", "command")
    list_filter = ("target",)
    search_fields = ("agent__username", "agent__display_name", "call__caller_number")
    date_hierarchy = "at"
    list_select_related = ("agent", "call")


@admin.register(SwitchCommand)
class SwitchCommandAdmin(ReadOnlyAdmin):
    """The desk's commands to the switch; what became of each is its outbox
    message's (state, last error, receipt)."""

    list_display = ("at", "user", "action", "source", "message_state", "unsent", "message")
    list_filter = ("action", "unsent", "source")
    search_fields = ("user__username", "user__display_name", "message__dedup_key")
    date_hierarchy = "at"
    list_select_related = ("user", "source", "message")

    @admin.display(description=_("state"))
    def message_state(self, obj):
        return obj.message.get_state_display() if obj.message_id else "—"


@admin.register(CallDisposition)
class CallDispositionAdmin(ReadOnlyAdmin):
    """Answered calls marked at wrap-up as needing no order, or linked to an
    existing one (C3y): the call's history, append-only."""

    list_display = ("at", "agent", "call", "reason_text", "order", "note")
    list_filter = ("reason",)
    search_fields = ("agent__username", "agent__display_name", "call__caller_number", "order__number")
    date_hierarchy = "at"
    list_select_related = ("agent", "call", "order")

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj):
        from hotline.calls.dispositions import reason_label

        return reason_label(obj.reason)
