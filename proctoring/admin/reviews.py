"""Reviewed violations, and per-detector precision from the verdicts."""

from django.contrib import admin

from proctoring.admin.scoping import ClientScopedAdmin
from proctoring.models import (
    ViolationReview,
)
from proctoring.selectors.reviews import detector_precision


@admin.register(ViolationReview)
class ViolationReviewAdmin(ClientScopedAdmin, admin.ModelAdmin):
    """Reviewed violations, with the per-detector precision figure above the list."""

    change_list_template = "admin/proctoring/violationreview/change_list.html"
    list_display = ["attempt", "type", "detector", "verdict", "reviewer", "at"]
    list_filter = ["detector", "type", "verdict"]
    readonly_fields = [f.name for f in ViolationReview._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra = {
            **(extra_context or {}),
            "precision_rows": detector_precision(reviews=self.get_queryset(request)),
        }
        return super().changelist_view(request, extra_context=extra)
