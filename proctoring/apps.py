"""App config: registers the system checks and Celery worker hooks."""

from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "proctoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proctoring import checks, log_redaction, worker_hooks  # noqa: F401  (registration)

        # After settings.LOGGING is applied (django.setup) and after uvicorn set up its loggers.
        log_redaction.install()
