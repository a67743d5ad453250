"""App config: registers the system checks, the Celery worker hooks, the CORS origin check and
the reviewer group's upkeep after migrate."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProctoringConfig(AppConfig):
    name = "proctoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proctoring import checks, log_redaction, worker_hooks  # noqa: F401  (registration)
        from proctoring.api import cors  # noqa: F401  (connects the browser SDK's origin check)
        from proctoring.services.reviewer_group import reviewer_group_ensure

        # After auth's own handler, which creates this app's permissions first.
        post_migrate.connect(reviewer_group_ensure, sender=self, dispatch_uid="reviewer_group")
        # After settings.LOGGING is applied (django.setup) and after uvicorn set up its loggers.
        log_redaction.install()
