"""App config: registers the system checks and Celery worker hooks."""

from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "proctoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proctoring import checks, worker_hooks  # noqa: F401  (registration side effects)
