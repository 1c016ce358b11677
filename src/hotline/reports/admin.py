from django.contrib import admin

from hotline.reports.models import ScoreDeduction, ScoreItem, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "center", "active")
    list_filter = ("center", "active")
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(ScoreItem)
class ScoreItemAdmin(admin.ModelAdmin):
    list_display = ("metric", "points", "method", "sort_order", "active")
    list_editable = ("points", "method", "sort_order", "active")


@admin.register(ScoreDeduction)
class ScoreDeductionAdmin(admin.ModelAdmin):
    list_display = ("event", "points_each", "cap", "active")
    list_editable = ("points_each", "cap", "active")
