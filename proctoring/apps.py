"""App config: registers the system checks, the Celery worker hooks and the CORS origin check."""

from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "proctoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proctoring import checks, log_redaction, worker_hooks  # noqa: F401  (registration)
        from proctoring.api import cors  # noqa: F401  (connects the browser SDK's origin check)

        # After settings.LOGGING is applied (django.setup) and after uvicorn set up its loggers.
        log_redaction.install()
