from django.contrib import admin

from hotline.planning.models import (
    IntervalStat,
    Queue,
    Schedule,
    ScheduleAssignment,
    ScheduleShift,
    ShiftTemplate,
    StaffingTarget,
)


class StaffingTargetInline(admin.StackedInline):
    model = StaffingTarget
    can_delete = False


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "center")
    list_filter = ("center",)
    list_select_related = ("center",)
    inlines = [StaffingTargetInline]


@admin.register(IntervalStat)
class IntervalStatAdmin(admin.ModelAdmin):
    list_display = ("queue", "start", "interval_minutes", "offered", "answered", "abandoned", "aht_seconds")
    list_filter = ("queue", "interval_minutes")
    date_hierarchy = "start"


@admin.register(ShiftTemplate)
class ShiftTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "start_time", "length_minutes", "breaks", "cost", "active")
    list_filter = ("active",)


class _ReadOnlyWhenPublished:
    """Published schedules are read-only here too; publishing is a service, not an admin edit."""

    def _published(self, obj) -> bool:
        schedule = obj if isinstance(obj, Schedule) else getattr(obj, "schedule", None)
        return schedule is not None and schedule.is_published

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and self._published(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and self._published(obj))


class ScheduleShiftInline(_ReadOnlyWhenPublished, admin.TabularInline):
    model = ScheduleShift
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(_ReadOnlyWhenPublished, admin.ModelAdmin):
    list_display = ("week_start", "queue", "status", "solver_status", "mip_gap", "created_by", "published_at")
    list_filter = ("status",)
    readonly_fields = ("status", "published_at", "published_by", "required", "solver_status", "mip_gap", "objective",
                       "solve_seconds", "agents_needed", "roster_status", "created_by")
    inlines = [ScheduleShiftInline]


@admin.register(ScheduleAssignment)
class ScheduleAssignmentAdmin(_ReadOnlyWhenPublished, admin.ModelAdmin):
    list_display = ("schedule", "agent", "day", "template")
    list_filter = ("schedule",)
