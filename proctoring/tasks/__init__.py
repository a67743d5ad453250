"""Celery tasks: thin adapters that decode their payload, call one service and handle retry.

Every task has an explicit name from proctoring.messages, which is how the media process and the
services send them; Celery's autodiscovery imports this package, and this package its modules.
"""

from proctoring.tasks import analysis, attempts, media, webhooks  # noqa: F401 (registration)
