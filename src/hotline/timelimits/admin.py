from django.contrib import admin

from hotline.timelimits.models import Clock, Notice
from hotline.core.admin import ReadOnlyAdmin


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    list_display = ("subject_type", "subject_id", "order", "metric", "status", "started_at", "due_at", "stopped_at",
                    "responsible_unit", "stage")
    list_filter = ("subject_type", "metric", "status")
    search_fields = ("order__number",)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("subject_type", "subject_id", "order", "kind", "level", "metric", "unit", "created_at", "answered_at")
    list_filter = ("subject_type", "kind", "level", "metric")
    search_fields = ("order__number",)
