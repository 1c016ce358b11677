from django.contrib import admin

from hotline.core.models import AuditEntry, Job


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


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail is written by services only: look, never touch."""

    list_display = ("at", "user", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "user__username")
    readonly_fields = ("at", "user", "action", "object_type", "object_id", "detail")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
