from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hotline.catalog import services
from hotline.catalog.models import BusinessType, HandlingField, LifecycleVersion, PolicyVersion, SubClass, TimeLimitRule

# Every save and delete below goes through catalog.services, which validates
# and writes the audit entry in the admin's transaction.


class SubClassInline(admin.TabularInline):
    model = SubClass
    extra = 0
    fields = ("code", "name", "parent", "routing_function", "default_priority", "active", "sort_order")


class HandlingFieldInline(admin.TabularInline):
    """What the unit records on resolve and reply (the handling record)."""

    model = HandlingField
    extra = 0
    fields = ("action", "code", "label", "kind", "choices", "required", "max_length", "action_time", "hint", "active",
              "sort_order")


class LifecycleVersionInline(admin.TabularInline):
    model = LifecycleVersion
    extra = 0
    fields = ("number", "created_at", "created_by", "definition")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # recorded by the business type's save

    def has_change_permission(self, request, obj=None):
        return False


def _save_formset(formset, user, save, delete) -> None:
    instances = formset.save(commit=False)
    for obj in formset.deleted_objects:
        delete(obj, user)
    for obj in instances:
        save(obj, user)
    formset.save_m2m()


@admin.register(BusinessType)
class BusinessTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "number_prefix", "routing", "routing_function", "callback", "mergeable", "active")
    inlines = [SubClassInline, HandlingFieldInline, LifecycleVersionInline]

    def save_model(self, request, obj, form, change):
        services.save_business_type(business_type=obj, user=request.user)

    def delete_model(self, request, obj):
        services.delete_business_type(business_type=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_business_type(business_type=obj, user=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is HandlingField:
            return _save_formset(formset, request.user, lambda o, u: services.save_handling_field(field=o, user=u),
                                 lambda o, u: services.delete_handling_field(field=o, user=u))
        if formset.model is not SubClass:
            return super().save_formset(request, form, formset, change)  # life-cycle versions: read-only
        _save_formset(formset, request.user, lambda o, u: services.save_sub_class(sub_class=o, user=u),
                      lambda o, u: services.delete_sub_class(sub_class=o, user=u))


def _rule_key(data: dict) -> tuple:
    sub = data.get("sub_class")
    return (getattr(data.get("business_type"), "pk", None), data.get("metric"), getattr(sub, "pk", None),
            data.get("priority") or "", data.get("area_class") or "")


class RuleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """Two rows of one edit that would tie (the database check sees only
        saved rows): refuse them, naming both."""
        super().clean()
        seen: dict[tuple, int] = {}
        for i, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            key = _rule_key(data)
            if key in seen:
                raise ValidationError(gettext(
                    "rows %(first)d and %(second)d set the same metric for the same business type, sub-class, priority and "
                    "area class: keep one") % {"first": seen[key] + 1, "second": i + 1})
            seen[key] = i


class RuleInline(admin.TabularInline):
    model = TimeLimitRule
    formset = RuleFormSet
    extra = 0
    fields = ("business_type", "sub_class", "priority", "area_class", "metric", "amount", "unit", "start_on", "stop_on",
              "responsible", "warn_share", "repeat", "escalation_levels", "escalation_gap_minutes")

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

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.published_at is None

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return (*self.readonly_fields, "note")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if obj.published_at is None and "note" in form.changed_data:
            services.save_version_note(version=obj, note=obj.note, user=request.user)

    def delete_model(self, request, obj):
        services.delete_draft(version=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_draft(version=obj, user=request.user)

    def save_formset(self, request, form, formset, change):
        _save_formset(formset, request.user, lambda o, u: services.save_rule(rule=o, user=u),
                      lambda o, u: services.delete_rule(rule=o, user=u))

    @admin.action(description=_("Draft a new version from the current one"))
    def make_draft(self, request, queryset):
        draft = services.draft_new_version(note="", user=request.user)
        self.message_user(request, _("Draft %s created") % draft, messages.SUCCESS)

    @admin.action(description=_("Publish the selected draft"))
    def publish(self, request, queryset):
        for version in queryset:
            try:
                services.publish_version(version=version, user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
