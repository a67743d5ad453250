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

        # After auth's own handler, which creates this app's permissions first.
        post_migrate.connect(_reviewer_group_upkeep, sender=self, dispatch_uid="reviewer_group")
        # After settings.LOGGING is applied (django.setup) and after uvicorn set up its loggers.
        log_redaction.install()


def _reviewer_group_upkeep(**_signal_kwargs) -> None:
    # Imported here, not at ready(): the media process is a pure adapter and loads no services
    # (tests/proctoring/ingest/test_pure_adapter.py).
    from proctoring.services.reviewer_group import reviewer_group_ensure

    reviewer_group_ensure()
