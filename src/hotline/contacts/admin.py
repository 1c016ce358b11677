from django.contrib import admin

from hotline.contacts.models import Contact


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Contacts come from the switch, the intake page and the API: read-only."""

    list_display = ("started_at", "channel", "source", "caller_number", "queue", "agent", "recording_ref")
    list_filter = ("channel", "source")
    search_fields = ("caller_number", "source_id", "recording_ref")
    date_hierarchy = "started_at"
    readonly_fields = ("channel", "source", "source_id", "caller_number", "queue", "agent", "started_at", "ended_at",
                       "recording_ref")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
