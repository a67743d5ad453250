"""Clients in the admin: created here or by create_client; secrets shown once, on a page of
their own (never in the messages cookie), never stored in the clear, rotated with a grace
period; the reviewers assigned to each client."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.cache import never_cache

from proctoring import signing
from proctoring.admin.scoping import ClientScopedAdmin
from proctoring.branding import validate_report_frame_ancestors
from proctoring.exceptions import ProctoringError
from proctoring.models import (
    Client,
)
from proctoring.options import validate_required_checks
from proctoring.origins import validate_allowed_origins
from proctoring.services.clients import client_register
from proctoring.services.secrets import client_secret_rotate, webhook_secret_rotate

# New secrets wait here, Fernet-encrypted, in the server-side session (the database, not a
# cookie) between the action and the page that shows them once and forgets them.
SECRETS_SESSION_KEY = "proctoring:secrets-to-show"


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = "__all__"
        help_texts = {
            "required_checks": "Tracking options always on for attempts the capture client "
            'creates at start, e.g. ["audio", "numHumans"].',
            "allowed_origins": "Origins of the exam pages that embed the browser SDK, e.g. "
            '["https://exam.example.com"] (scheme, host and port).',
            "display_name": "The name shown on this client's reports (the name when empty).",
            "logo_url": "An https URL of a logo shown on this client's reports.",
            "report_frame_ancestors": "Origins of the integrator's pages that may show the "
            'reports in an iframe, e.g. ["https://lms.example.com"]; none listed: no page may.',
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

    def clean_report_frame_ancestors(self):
        try:
            # An add form that leaves the field out sends nothing: no page may frame the reports.
            value = self.cleaned_data["report_frame_ancestors"] or []
            return validate_report_frame_ancestors(value)
        except ProctoringError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(Client)
class ClientAdmin(ClientScopedAdmin, admin.ModelAdmin):
    client_field = "pk"
    list_display = ["name", "client_id", "is_active", "webhook_url", "retention_days", "created_at"]
    search_fields = ["name", "client_id"]
    # The secrets (plain or encrypted) are never fields here: they are shown once, on a page.
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
        "display_name",
        "logo_url",
        "report_frame_ancestors",
        "reviewers",
        "created_at",
        "previous_secret_valid_until",
    ]
    filter_horizontal = ["reviewers"]
    form = ClientForm
    actions = ["rotate_secret", "rotate_webhook_secret"]

    def get_readonly_fields(self, request, obj=None):
        # Who reviews a client is the superuser's call, never the assigned staff's own.
        extra = [] if request.user.is_superuser else ["reviewers"]
        return [*super().get_readonly_fields(request, obj), *extra]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "webhook_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "reviewers":
            kwargs["queryset"] = db_field.remote_field.model.objects.filter(
                is_staff=True, is_active=True
            ).order_by("username")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="previous secret valid until")
    def previous_secret_valid_until(self, obj: Client):
        return obj.previous_secret_expires_at or "—"

    def get_urls(self):
        return [
            path(
                "new-secrets/",
                self.admin_site.admin_view(never_cache(self.secrets_view)),
                name="proctoring_client_secrets",
            )
        ] + super().get_urls()

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = client_register(client=obj)
        _keep_to_show(request, obj, "client_secret", created.client_secret)
        _keep_to_show(request, obj, "webhook_secret", created.webhook_secret)

    def response_add(self, request, obj, post_url_continue=None):
        if "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        messages.success(request, f"Client {obj.name} added.")
        return HttpResponseRedirect(reverse("admin:proctoring_client_secrets"))

    @admin.action(description="Rotate the secret (the old one works for a grace period)")
    def rotate_secret(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        for client in queryset:
            _keep_to_show(request, client, "client_secret", client_secret_rotate(client=client))
        return HttpResponseRedirect(reverse("admin:proctoring_client_secrets"))

    @admin.action(description="Rotate the webhook secret (both sign during a grace period)")
    def rotate_webhook_secret(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        for client in queryset:
            _keep_to_show(request, client, "webhook_secret", webhook_secret_rotate(client=client))
        return HttpResponseRedirect(reverse("admin:proctoring_client_secrets"))

    def secrets_view(self, request):
        """GET new-secrets/: the secrets just made, shown on this page once and then forgotten
        (a reload shows none). Served with Cache-Control: no-store (never_cache)."""
        if not self.has_change_permission(request) and not self.has_add_permission(request):
            raise PermissionDenied
        kept = request.session.pop(SECRETS_SESSION_KEY, [])
        shown = [
            {"name": row["name"], "client_id": row["client_id"], "kind": row["kind"]}
            | {"secret": signing.decrypt_secret(row["encrypted"])}
            for row in kept
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "New secrets",
            "opts": self.model._meta,
            "secrets": shown,
        }
        return TemplateResponse(request, "admin/proctoring/client/new_secrets.html", context)


def _keep_to_show(request, client: Client, kind: str, secret: str) -> None:
    kept = request.session.get(SECRETS_SESSION_KEY, [])
    kept.append(
        {
            "name": client.name,
            "client_id": client.client_id,
            "kind": kind,
            "encrypted": signing.encrypt_secret(secret),
        }
    )
    request.session[SECRETS_SESSION_KEY] = kept
