"""The audit trail on its own pages: status changes and privileged changes, read-only, also
those of deleted attempts (the rows name the attempt and its client themselves)."""

from django.contrib import admin

from proctoring.admin.scoping import ClientScopedAdmin
from proctoring.models import AttemptAuditEntry, AttemptStatusChange


class ReadOnlyAuditAdmin(ClientScopedAdmin, admin.ModelAdmin):
    """Nobody adds, changes or deletes an audit row here, a superuser included."""

    list_select_related = ["actor"]
    search_fields = ["test_attempt_id", "client_name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(AttemptAuditEntry)
class AttemptAuditEntryAdmin(ReadOnlyAuditAdmin):
    list_display = ["at", "test_attempt_id", "client_name", "action", "actor", "actor_label"]
    list_filter = ["action"]


@admin.register(AttemptStatusChange)
class AttemptStatusChangeAdmin(ReadOnlyAuditAdmin):
    list_display = ["at", "test_attempt_id", "client_name", "from_status", "to_status", "actor"]
    list_filter = ["to_status"]
