"""Django admin: clients (credentials shown once), attempts with their violations inline."""

from django.contrib import admin, messages

from proctoring import signing
from proctoring.models import Attempt, AttemptStatusChange, Client, Violation


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "is_active", "created_at"]
    search_fields = ["name", "client_id"]
    readonly_fields = ["client_id", "created_at"]
    fields = ["name", "client_id", "is_active", "created_at"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            secret = signing.new_client_secret()
            obj.client_id = signing.new_client_id()
            obj.secret_encrypted = signing.encrypt_secret(secret)
            messages.warning(
                request,
                f"client_id {obj.client_id} — client_secret {secret} — copy the secret now, "
                "it is not shown again.",
            )
        super().save_model(request, obj, form, change)


class ViolationInline(admin.TabularInline):
    model = Violation
    extra = 0
    can_delete = False
    fields = ["type", "code", "start_s", "end_s", "started_at", "ended_at", "details"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = AttemptStatusChange
    extra = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = [
        "test_attempt_id",
        "client",
        "status",
        "trust_score",
        "evidence_status",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "evidence_status", "client"]
    search_fields = ["test_attempt_id", "lookup_key"]
    ordering = ["-created_at"]
    # Status only changes through services.attempts.attempt_transition, never by hand here.
    readonly_fields = [
        "client",
        "test_attempt_id",
        "status",
        "created_at",
        "started_at",
        "stop_requested_at",
        "finished_at",
        "trust_score",
        "score_version",
        "score_breakdown",
        "evidence_status",
        "options",
        "user_details",
        "lookup_key",
        "test_duration_min",
    ]
    inlines = [ViolationInline, StatusChangeInline]

    def has_add_permission(self, request) -> bool:
        return False
