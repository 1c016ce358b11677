from django.contrib import admin

from hotline.calendars.models import DayOverride


@admin.register(DayOverride)
class DayOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working_day", "name", "created_by", "created_at")
    list_filter = ("is_working_day",)
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        if not obj.created_by_id:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
