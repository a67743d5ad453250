"""The project's routes and two more: a page that sets its own Content-Security-Policy (as the
embeddable report pages do, with their client's frame-ancestors) and one that does not."""

from django.http import HttpResponse
from django.urls import path

from backend.urls import urlpatterns as project_urlpatterns


def embedded(request):
    response = HttpResponse("<p>report</p>")
    response["Content-Security-Policy"] = "frame-ancestors https://lms.example.com"
    return response


def plain(request):
    return HttpResponse("<p>plain</p>")


urlpatterns = [path("embedded/", embedded), path("plain/", plain), *project_urlpatterns]
