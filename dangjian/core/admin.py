"""The change history in the admin: read only. Entries are never added, changed or removed
through the platform (the hash chain would show it, and the model refuses anyway)."""
from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("id", "at", "action", "table", "object_id", "actor_username", "actor_name", "note")
    list_filter = ("action", "table")
    search_fields = ("actor_username", "actor_name", "note")
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
