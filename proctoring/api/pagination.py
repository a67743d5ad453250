"""Page-number pagination for list endpoints: ?page=N&page_size=M (at most 100)."""

from rest_framework.pagination import PageNumberPagination

from proctoring.api.serializers import MAX_PAGE_SIZE

DEFAULT_PAGE_SIZE = 25


class Pagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    invalid_page_message = "This page does not exist."


def paginated(request, queryset, serializer_class, context=None) -> dict:
    """{count, next, previous, results} for the requested page of `queryset`."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request)
    results = serializer_class(page, many=True, context=context or {"request": request}).data
    return {
        "count": paginator.page.paginator.count,
        "next": paginator.get_next_link(),
        "previous": paginator.get_previous_link(),
        "results": results,
    }
