from django import forms
from django.contrib import admin

from hotline.core import policy
from hotline.core.models import AuditEntry, Job, PolicySetting


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: jobs are asked for on the pages and run by workers."""

    list_display = ("id", "kind", "status", "created_by", "created_at", "started_at", "finished_at", "attempts")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """History written by services only: the admin can look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail is written by services only."""

    list_display = ("at", "user", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "user__username")


# --- outbox and periodic tasks ---------------------------------------------------

from django.contrib import messages as admin_messages  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402

from hotline.core.models import OutboxEvent, OutboxMessage, PeriodicTaskRun  # noqa: E402


class OutboxEventInline(admin.TabularInline):
    model = OutboxEvent
    fields = ("at", "from_state", "to_state", "attempt", "detail", "actor")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("id",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Written by services, sent by workers: administrators look, retry what
    failed and discard what must not go; each such step is recorded."""

    list_display = ("id", "channel", "recipient", "state", "attempts", "next_attempt_at", "order_key", "waiting_for",
                    "short_error", "created_at")
    list_filter = ("state", "channel")
    search_fields = ("dedup_key", "recipient", "=order_key")
    readonly_fields = ("channel", "recipient", "payload", "dedup_key", "source", "order_key", "waiting_for", "state",
                       "attempts", "created_at", "next_attempt_at", "lease_until", "sent_at", "acknowledged_at", "ack",
                       "last_error")
    exclude = ("claims",)
    inlines = [OutboxEventInline]
    actions = ["retry_messages", "discard_messages"]
    list_per_page = 100
    show_full_result_count = False  # the outbox may hold millions of rows

    def get_queryset(self, request):
        from hotline.core.outbox import selectors

        return selectors.with_blocker(super().get_queryset(request))

    @admin.display(description=_("waiting for"))
    def waiting_for(self, obj):
        from hotline.core.outbox import selectors

        return selectors.blocked_reason(obj)

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:120] + "…") if len(obj.last_error) > 120 else obj.last_error

    @admin.action(description=_("Retry the selected messages now"), permissions=["change"])
    def retry_messages(self, request, queryset):
        from hotline.core import outbox

        n = outbox.retry(list(queryset.values_list("id", flat=True)), actor=request.user)
        self.message_user(request, ngettext("%(n)d message will be sent again.",
                                            "%(n)d messages will be sent again.", n) % {"n": n},
                          admin_messages.SUCCESS if n else admin_messages.WARNING)

    @admin.action(description=_("Discard the selected messages"), permissions=["change"])
    def discard_messages(self, request, queryset):
        from hotline.core import outbox

        n = outbox.discard(list(queryset.values_list("id", flat=True)), actor=request.user)
        self.message_user(request, ngettext("%(n)d message discarded.", "%(n)d messages discarded.", n) % {"n": n},
                          admin_messages.SUCCESS if n else admin_messages.WARNING)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        pass  # every field is read-only; "change" is there for the actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(PeriodicTaskRun)
class PeriodicTaskRunAdmin(admin.ModelAdmin):
    """Which worker runs what, when each task last ran and why it failed."""

    list_display = ("name", "slot", "next_run_at", "lease_until", "owner", "runs", "last_finished_at", "last_error")
    list_filter = ("name",)
    readonly_fields = [f.name for f in PeriodicTaskRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PolicySettingForm(forms.ModelForm):
    """The setting is one of those the apps declared; its value is checked
    against the declaration (kind, bounds, choices)."""

    key = forms.ChoiceField(label=_("setting"))
    value = forms.CharField(label=_("value"), max_length=200)

    class Meta:
        model = PolicySetting
        fields = ("key", "value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(k, f"{d.label} ({k})") for k, d in sorted(policy.declared().items())]
        if self.instance.pk:
            self.fields["key"].disabled = True

    def clean_value(self):
        key = self.cleaned_data.get("key") or self.instance.key
        try:
            return policy.parse(key, self.cleaned_data["value"])
        except policy.PolicyError as exc:
            raise forms.ValidationError(exc.message) from None


def _shown(value):
    """A setting's value as the administrator reads it: yes / no, not True / False."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


@admin.register(PolicySetting)
class PolicySettingAdmin(admin.ModelAdmin):
    form = PolicySettingForm
    list_display = ("label", "key", "shown_value", "default", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")
    change_list_template = "admin/core/policysetting/change_list.html"

    @admin.display(description=_("meaning"))
    def label(self, obj):
        d = policy.declared().get(obj.key)
        return d.label if d else obj.key

    @admin.display(description=_("value"))
    def shown_value(self, obj):
        return _shown(obj.value)

    @admin.display(description=_("default"))
    def default(self, obj):
        d = policy.declared().get(obj.key)
        return _shown(d.default) if d else "—"

    def save_model(self, request, obj, form, change):
        # Through the service: audited, and every process drops its cache.
        policy.set_value(key=obj.key, value=form.cleaned_data["value"], user=request.user)
        fresh = PolicySetting.objects.get(key=obj.key)
        obj.pk, obj.value, obj.updated_at, obj.updated_by = fresh.pk, fresh.value, fresh.updated_at, fresh.updated_by

    def delete_model(self, request, obj):
        policy.reset(key=obj.key, user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            policy.reset(key=obj.key, user=request.user)

    def changelist_view(self, request, extra_context=None):
        stored = dict(PolicySetting.objects.values_list("key", "value"))
        rows = [{"key": k, "label": d.label, "value": _shown(stored.get(k, policy.get(k))), "default": _shown(d.default),
                 "set": k in stored, "help": d.help} for k, d in sorted(policy.declared().items())]
        return super().changelist_view(request, {**(extra_context or {}), "policy_rows": rows})


# --- permissions in the administrator's language ----------------------------------

from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.utils.text import capfirst  # noqa: E402

_ACTIONS = {"add": _("Can add %(name)s"), "change": _("Can change %(name)s"),
            "delete": _("Can delete %(name)s"), "view": _("Can view %(name)s")}


def permission_label(permission) -> str:
    """A permission as "app | model | can …" in the active language: Django
    stores the name ("Can add audit entry") in English when it migrates."""
    content_type = permission.content_type
    model = content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is None or action not in _ACTIONS or model_name != model._meta.model_name:
        return str(permission)
    meta = model._meta
    app = apps_verbose_name(meta.app_label)
    return f"{app} | {capfirst(meta.verbose_name)} | {_ACTIONS[action] % {'name': meta.verbose_name}}"


def apps_verbose_name(label: str) -> str:
    from django.apps import apps

    return str(apps.get_app_config(label).verbose_name)


class TranslatedPermissionsMixin:
    """For a model admin with a permissions widget (groups, users)."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in ("permissions", "user_permissions") and field is not None:
            field.label_from_instance = permission_label
        return field


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(TranslatedPermissionsMixin, BaseGroupAdmin):
    pass
