from django.contrib import admin

from hotline.timelimits.models import Clock, Notice
from hotline.workorders.admin import ReadOnlyAdmin


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    list_display = ("order", "metric", "status", "started_at", "due_at", "stopped_at", "responsible_unit", "stage")
    list_filter = ("metric", "status")
    search_fields = ("order__number",)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("order", "kind", "level", "metric", "unit", "created_at", "answered_at")
    list_filter = ("kind", "level", "metric")
    search_fields = ("order__number",)
