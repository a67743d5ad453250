"""Enqueue Celery tasks by name (proctoring.messages), once the current transaction commits.

By name, so that no service imports the task modules, which import the services: the layers
stay a line, not a circle. Routing (queues) is Celery's, from CELERY_TASK_ROUTES.
"""

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue(name: str, *args: Any) -> None:
    current_app.send_task(name, args=list(args))


def enqueue_later(name: str, *args: Any, countdown: float) -> None:
    """Once the current transaction commits, run `countdown` seconds from then."""
    transaction.on_commit(lambda: current_app.send_task(name, args=list(args), countdown=countdown))


def enqueue_on_commit(name: str, *args: Any) -> None:
    """A task that reads what this transaction writes must not run before it is committed."""
    transaction.on_commit(lambda: enqueue(name, *args))
