"""One rule for every admin page: staff see only the clients they are assigned to review.

Mixed into each ModelAdmin that shows a client's data (attempts, violations, evidence, reviews,
audit rows, deliveries, the clients themselves). Everything the admin shows or acts on starts
from `get_queryset`, so narrowing it there covers the list, search, filters, autocomplete,
bulk actions, the change, history and delete pages, and the custom views that look objects up
through it (the evidence files, the verdicts). A superuser sees every client."""

from django.contrib import admin
from django.http import Http404

from proctoring.selectors.reviewers import scoped_to_reviewer

OUT_OF_SCOPE_MESSAGE = "No such object among the clients you review."


class ClientScopedAdmin:
    """Put first in the bases: `class AttemptAdmin(ClientScopedAdmin, admin.ModelAdmin)`."""

    # The lookup from the admin's model to its client.
    client_field = "client"

    def get_queryset(self, request):
        return scoped_to_reviewer(
            queryset=super().get_queryset(request),
            user=request.user,
            client_field=self.client_field,
        )

    def get_object(self, request, object_id, from_field=None):
        """Another client's object, by URL, is a 404 like one that does not exist (Django's
        default is a redirect with a message), and the two cannot be told apart."""
        found = super().get_object(request, object_id, from_field)
        if found is None and not request.user.is_superuser:
            raise Http404(OUT_OF_SCOPE_MESSAGE)
        return found

    def get_list_filter(self, request):
        """The client filter offers only the clients in the (scoped) list, never every name."""
        return [
            (name, admin.RelatedOnlyFieldListFilter) if name == "client" else name
            for name in super().get_list_filter(request)
        ]
