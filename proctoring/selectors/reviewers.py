"""What a member of staff may see in the admin: the clients they are assigned to review.

A superuser sees every client; any other staff member sees only the clients whose
`reviewers` name them, and nothing at all before they are assigned (deny by default)."""

from django.db.models import QuerySet

from proctoring.models import Client


def reviewer_client_ids(*, user) -> QuerySet | None:
    """The ids of the clients `user` may see (a lazy subquery, so the scoped query stays one
    query), or None for every client (a superuser)."""
    if user.is_superuser:
        return None
    if not user.is_active or not user.is_staff:
        return Client.objects.none().values("pk")
    return Client.objects.filter(reviewers=user).values("pk")


def scoped_to_reviewer(*, queryset: QuerySet, user, client_field: str) -> QuerySet:
    """`queryset` narrowed to the rows of the clients `user` may see; `client_field` is the
    lookup from the queryset's model to its client ("client", "attempt__client", "pk")."""
    allowed = reviewer_client_ids(user=user)
    if allowed is None:
        return queryset
    return queryset.filter(**{f"{client_field}__in": allowed})
