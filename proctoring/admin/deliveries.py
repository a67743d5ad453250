"""Webhook deliveries: the log, and a resend button."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from proctoring.admin.scoping import ClientScopedAdmin
from proctoring.models import (
    WebhookDelivery,
)
from proctoring.services import webhooks


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ClientScopedAdmin, admin.ModelAdmin):
    change_form_template = "admin/proctoring/webhookdelivery/change_form.html"
    list_display = [
        "id",
        "client",
        "event",
        "attempt",
        "status",
        "tries",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "event", "client"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<str:object_id>/resend/",
                wrap(require_POST(self.resend_view)),
                name="proctoring_webhookdelivery_resend",
            )
        ] + super().get_urls()

    def resend_view(self, request, object_id):
        delivery = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, delivery):
            raise PermissionDenied
        webhooks.webhook_resend(delivery=delivery)
        messages.success(request, format_html("Delivery {} queued again.", delivery.pk))
        return HttpResponseRedirect(
            reverse("admin:proctoring_webhookdelivery_change", args=[delivery.pk])
        )

    @admin.action(description="Resend the selected deliveries")
    def resend(self, request, queryset) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        for delivery in queryset:
            webhooks.webhook_resend(delivery=delivery)
        messages.success(request, f"{queryset.count()} deliveries queued again.")
