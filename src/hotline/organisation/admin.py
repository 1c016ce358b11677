from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from hotline.organisation import services
from hotline.organisation.models import ApiToken, Customer, CustomerPhone, MarkedNumber, ServiceArea, Unit, User


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("indented_name", "code", "kind", "function", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "code")
    readonly_fields = ("path", "depth")

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, obj):
        return "\u3000" * obj.depth + obj.name

    def save_model(self, request, obj, form, change):
        # Paths are derived from the parent; keep the subtree consistent.
        if change and "parent" in form.changed_data:
            services.move_unit(unit=obj, new_parent=obj.parent)
        else:
            super().save_model(request, obj, form, change)
            if not change:
                services._set_path(obj)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "role", "unit", "agent_number", "stars", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name", "agent_number")
    fieldsets = BaseUserAdmin.fieldsets + ((_("Hotline"), {"fields": ("role", "unit", "display_name", "agent_number", "stars")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + ((_("Hotline"), {"fields": ("role", "unit", "display_name", "agent_number")}),)
    autocomplete_fields = ("unit",)


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ("full_name", "code", "level", "area_class", "unit")
    list_filter = ("level", "area_class", "unit")
    search_fields = ("full_name", "code")
    autocomplete_fields = ("parent", "unit")


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
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")
