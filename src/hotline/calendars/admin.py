from django.contrib import admin
from django.db import transaction

from hotline.calendars.models import DayOverride, NoticeHoliday, NoticeWorkday, YearNotice
from hotline.core import audit
from hotline.core.admin import ReadOnlyAdmin


def _override_detail(obj: DayOverride) -> dict:
    return {"date": obj.date.isoformat(), "is_working_day": obj.is_working_day, "name": obj.name}


@admin.register(DayOverride)
class DayOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working_day", "name", "created_by", "created_at")
    list_filter = ("is_working_day",)
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        if not obj.created_by_id:
            obj.created_by = request.user
        before = DayOverride.objects.filter(pk=obj.pk).first() if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(user=request.user, action="calendar_override_change" if change else "calendar_override_add",
                         obj=obj, detail={**_override_detail(obj),
                                          "before": _override_detail(before) if before else None})

    def delete_model(self, request, obj):
        detail, pk = _override_detail(obj), obj.pk
        with transaction.atomic():
            super().delete_model(request, obj)
            audit.record(user=request.user, action="calendar_override_delete", obj=("dayoverride", pk), detail=detail)

    def delete_queryset(self, request, queryset):
        # The list's bulk "delete selected": one entry per date, like delete_model.
        with transaction.atomic():
            for obj in list(queryset):
                self.delete_model(request, obj)


class NoticeHolidayInline(admin.TabularInline):
    model = NoticeHoliday
    extra = 0
    can_delete = False
    fields = ("name", "first_day", "last_day")
    readonly_fields = fields


class NoticeWorkdayInline(admin.TabularInline):
    model = NoticeWorkday
    extra = 0
    can_delete = False
    fields = ("date",)
    readonly_fields = fields


@admin.register(YearNotice)
class YearNoticeAdmin(ReadOnlyAdmin):
    """Read-only here: a notice is entered, validated and audited on its own
    page (calendars:notice), all of a year at once."""

    list_display = ("year", "reference", "entered_by", "entered_at")
    change_list_template = "admin/calendars/yearnotice/change_list.html"  # links to the notice page
    inlines = (NoticeHolidayInline, NoticeWorkdayInline)
    readonly_fields = ("year", "reference", "entered_by", "entered_at")
