"""App config: registers the system checks, the Celery worker hooks and the CORS origin check."""

from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "proctoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proctoring import checks, worker_hooks  # noqa: F401  (registration side effects)
        from proctoring.api import cors  # noqa: F401  (connects the browser SDK's origin check)
