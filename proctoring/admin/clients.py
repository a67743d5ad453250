"""Clients in the admin: created here or by create_client; secrets shown once, never stored
in the clear, rotated with a grace period."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from proctoring import signing
from proctoring.exceptions import ProctoringError
from proctoring.models import (
    Client,
)
from proctoring.options import validate_required_checks
from proctoring.origins import validate_allowed_origins
from proctoring.services.secrets import client_secret_rotate


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = "__all__"
        help_texts = {
            "required_checks": "Tracking options always on for attempts the capture client "
            'creates at start, e.g. ["audio", "numHumans"].',
            "allowed_origins": "Origins of the exam pages that embed the browser SDK, e.g. "
            '["https://exam.example.com"] (scheme, host and port).',
        }

    def clean_required_checks(self):
        try:
            return validate_required_checks(self.cleaned_data["required_checks"])
        except ProctoringError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_allowed_origins(self):
        try:
            return validate_allowed_origins(self.cleaned_data["allowed_origins"])
        except ProctoringError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "is_active", "webhook_url", "retention_days", "created_at"]
    search_fields = ["name", "client_id"]
    # The secret (plain or encrypted) is never a field here: it is shown once, in a message.
    readonly_fields = ["client_id", "created_at", "previous_secret_valid_until"]
    fields = [
        "name",
        "client_id",
        "is_active",
        "webhook_url",
        "retention_days",
        "required_checks",
        "api_created_attempts_only",
        "concurrent_sessions",
        "candidate_sees_score",
        "allowed_origins",
        "created_at",
        "previous_secret_valid_until",
    ]
    form = ClientForm
    actions = ["rotate_secret"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "webhook_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="previous secret valid until")
    def previous_secret_valid_until(self, obj: Client):
        return obj.previous_secret_expires_at or "—"

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            secret = signing.new_client_secret()
            obj.client_id = signing.new_client_id()
            obj.secret_encrypted = signing.encrypt_secret(secret)
            _show_secret_once(request, obj.client_id, secret)
        super().save_model(request, obj, form, change)

    @admin.action(description="Rotate the secret (the old one works for a grace period)")
    def rotate_secret(self, request, queryset) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        for client in queryset:
            _show_secret_once(request, client.client_id, client_secret_rotate(client=client))


def _show_secret_once(request, client_id: str, secret: str) -> None:
    messages.warning(
        request,
        f"client_id {client_id} — client_secret {secret} — copy the secret now, "
        "it is not shown again.",
    )
