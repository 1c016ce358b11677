from django.contrib import admin

from hotline.reports.models import Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "center", "active")
    list_filter = ("center", "active")
    search_fields = ("name",)
    filter_horizontal = ("members",)
