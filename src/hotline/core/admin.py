from django.contrib import admin

from hotline.core.models import Job


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
