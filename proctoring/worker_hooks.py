"""Celery worker hooks: survive a Redis restart, fail fast on missing models, load them once per
process, and keep the database connection across tasks while it is healthy."""

import logging

from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from django.db import close_old_connections

from proctoring import broker_guard
from proctoring.checks import missing_models

logger = logging.getLogger(__name__)


class ModelsMissing(SystemExit):
    pass


@worker_init.connect
def guard_against_redis_restarts(**kwargs) -> None:
    # kombu 5.7.0 kills the worker on some Redis restarts (proctoring/broker_guard.py, ADR 0015).
    broker_guard.install()


@worker_init.connect
def refuse_to_start_without_models(**kwargs) -> None:
    problems = missing_models()
    if problems:
        for problem in problems:
            logger.critical("cannot start the analysis worker: %s", problem)
        raise ModelsMissing("analysis worker not started: " + "; ".join(problems))


@worker_process_init.connect
def warm_up_models(**kwargs) -> None:
    # Loading at fork time keeps the first frame of the first candidate from paying for it.
    from proctoring.services.samples import human_counter, voice_detector

    human_counter()
    voice_detector()


@task_prerun.connect
@task_postrun.connect
def drop_broken_or_old_connections(task=None, **kwargs) -> None:
    """What Django does around every request: close a connection that failed or is too old.

    Celery would otherwise close every connection around every task (see CELERY_DB_REUSE_MAX).
    A task that met a restarted PostgreSQL leaves a broken connection; its retry must reconnect.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return  # an eager task runs inside its caller's transaction: not ours to close
    close_old_connections()
