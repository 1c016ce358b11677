from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.core.admin import TranslatedPermissionsMixin
from hotline.core.audit import record as audit
from hotline.organisation import services
from hotline.organisation.models import ApiToken, Customer, CustomerPhone, MarkedNumber, ServiceArea, Unit, User


def _plain(value):
    if isinstance(value, models.Model):
        return {"id": value.pk, "name": str(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete an administrator makes here is in the
    audit trail, with the before and after of the ``audited`` fields, in the
    admin's transaction."""

    audited: tuple[str, ...] = ()

    def _snapshot(self, obj) -> dict:
        return {name: _plain(getattr(obj, name)) for name in self.audited}

    def save_model(self, request, obj, form, change):
        before = self._snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        self.write(request, obj, form, change)
        after = self._snapshot(obj)
        changes = {k: {"before": before.get(k), "after": v} for k, v in after.items() if not change or before.get(k) != v}
        name = obj._meta.model_name
        audit(user=request.user, action=f"{name}_change" if change else f"{name}_add", obj=obj,
              detail={"name": str(obj), "changes": changes})

    def write(self, request, obj, form, change):
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        audit(user=request.user, action=f"{obj._meta.model_name}_delete", obj=obj,
              detail={"name": str(obj), "was": self._snapshot(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ("indented_name", "code", "kind", "function", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "code")
    readonly_fields = ("path", "depth")
    audited = ("name", "code", "kind", "parent", "function", "phone", "active")

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, obj):
        return "\u3000" * obj.depth + obj.name

    def write(self, request, obj, form, change):
        # Paths are derived from the parent; keep the subtree consistent.
        if change and "parent" in form.changed_data:
            others = [f for f in form.changed_data if f != "parent"]
            if others:  # move_unit writes only the parent
                type(obj).objects.filter(pk=obj.pk).update(**{f: getattr(obj, f) for f in others})
            services.move_unit(unit=obj, new_parent=obj.parent)
        else:
            super().write(request, obj, form, change)
            if not change:
                services._set_path(obj)


@admin.register(User)
class UserAdmin(TranslatedPermissionsMixin, AuditedAdmin, BaseUserAdmin):
    list_display = ("username", "display_name", "role", "unit", "agent_number", "stars", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name", "agent_number")
    fieldsets = BaseUserAdmin.fieldsets + ((_("Hotline"), {"fields": ("role", "unit", "display_name", "agent_number", "stars")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + ((_("Hotline"), {"fields": ("role", "unit", "display_name", "agent_number")}),)
    autocomplete_fields = ("unit",)
    # Roles and units decide what a user sees; never the password hash.
    audited = ("username", "role", "unit", "is_active", "is_staff", "is_superuser", "display_name", "agent_number", "stars")

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the form was valid and the password set
            target = self.get_object(request, id)
            audit(user=request.user, action="user_password_set", obj=target, detail={"name": str(target)})
        return response


@admin.register(ServiceArea)
class ServiceAreaAdmin(AuditedAdmin):
    list_display = ("full_name", "code", "level", "area_class", "unit")
    list_filter = ("level", "area_class", "unit")
    search_fields = ("full_name", "code")
    autocomplete_fields = ("parent", "unit")
    audited = ("name", "code", "level", "parent", "area_class", "unit")


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0
    readonly_fields = ("number", "extension")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("account_number", "name", "address", "service_area", "special_mark")
    list_filter = ("special_mark",)
    search_fields = ("account_number", "name", "address", "phones__number")
    autocomplete_fields = ("service_area",)
    inlines = [CustomerPhoneInline]


@admin.register(MarkedNumber)
class MarkedNumberAdmin(admin.ModelAdmin):
    list_display = ("number", "mark", "note", "reviewed_by", "created_at")
    search_fields = ("number",)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")
    audited = ("name", "user", "prefix", "revoked")
