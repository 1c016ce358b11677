from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from hotline.catalog import services
from hotline.catalog.models import BusinessType, PolicyVersion, SubClass, TimeLimitRule


class SubClassInline(admin.TabularInline):
    model = SubClass
    extra = 0
    fields = ("code", "name", "parent", "routing_function", "default_priority", "active", "sort_order")


@admin.register(BusinessType)
class BusinessTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "number_prefix", "routing", "routing_function", "callback", "mergeable", "active")
    inlines = [SubClassInline]


class RuleInline(admin.TabularInline):
    model = TimeLimitRule
    extra = 0
    fields = ("business_type", "sub_class", "priority", "area_class", "metric", "amount", "unit", "start_on", "stop_on",
              "responsible", "warn_share", "repeat", "escalation_levels")

    @staticmethod
    def _editable(obj) -> bool:
        # A published version is frozen: orders created under it rely on it.
        return obj is None or obj.published_at is None

    def has_change_permission(self, request, obj=None):
        return self._editable(obj)

    def has_add_permission(self, request, obj=None):
        return self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "note", "published_at", "published_by", "created_at")
    readonly_fields = ("number", "published_at", "published_by")
    inlines = [RuleInline]
    actions = ["make_draft", "publish"]

    def has_add_permission(self, request):
        return False  # use "draft a new version" so rules are copied

    @admin.action(description=_("Draft a new version from the current one"))
    def make_draft(self, request, queryset):
        draft = services.draft_new_version(note="", user=request.user)
        self.message_user(request, _("Draft %s created") % draft, messages.SUCCESS)

    @admin.action(description=_("Publish the selected draft"))
    def publish(self, request, queryset):
        for version in queryset:
            try:
                services.publish_version(version=version, user=request.user)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
