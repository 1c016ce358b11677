from django.contrib import admin

from hotline.core.admin import ReadOnlyAdmin
from hotline.workorders.models import WorkOrder, WorkOrderEvent


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
