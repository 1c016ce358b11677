from django.contrib import admin

from hotline.workorders.models import WorkOrder, WorkOrderEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by services only; the admin can look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = WorkOrderEvent
    extra = 0
    can_delete = False
    fields = ("seq", "kind", "at", "actor", "from_state", "to_state", "payload")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "business_type", "state", "assigned_unit", "owner", "created_at")
    list_filter = ("business_type", "state")
    search_fields = ("number", "caller_phone")
    date_hierarchy = "created_at"
    inlines = [EventInline]
    exclude = ("last_seq",)
