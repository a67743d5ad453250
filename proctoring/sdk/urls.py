"""/sdk/v1/: the browser SDK's files and the demo exam page."""

from django.urls import path

from proctoring.sdk import views

urlpatterns = [
    path("autoproctor.js", views.script, name="sdk-script"),
    path("autoproctor.d.ts", views.declarations, name="sdk-declarations"),
    path("demo/", views.demo, name="sdk-demo"),
    path("demo/done/", views.demo_done, name="sdk-demo-done"),
]
