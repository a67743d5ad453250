"""A worker keeps its PostgreSQL connection across tasks, and drops it once it breaks."""

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import OperationalError, connection, connections

from backend.celery import app
from proctoring.tasks.analysis import analyze_samples

# Outside a test transaction: the hooks must see the connection as a worker process does.
pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _run_task_hooks(*, eager: bool = False) -> None:
    """What a prefork worker runs around a task: Celery's Django fix-up, then our hooks."""
    task, fixup = analyze_samples, DjangoWorkerFixup(app)
    task.push_request(is_eager=eager)
    try:
        fixup.on_task_prerun(task)
        task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
        fixup.on_task_postrun(task)
        task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None)
    finally:
        task.pop_request()


def _terminate(pid: int) -> None:
    """Kill one PostgreSQL backend from another connection, as a server restart would."""
    with connections.create_connection("default").cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_healthy_connection_serves_the_next_task():
    before = _backend_pid()

    _run_task_hooks()

    assert _backend_pid() == before


def test_without_the_reuse_setting_celery_would_reconnect_for_every_task(settings):
    settings.CELERY_DB_REUSE_MAX = None
    before = _backend_pid()

    _run_task_hooks()

    assert _backend_pid() != before


def test_a_connection_broken_mid_task_is_replaced_before_the_retry():
    broken = _backend_pid()
    _terminate(broken)
    with pytest.raises(OperationalError):
        _backend_pid()  # the task meets the dead backend and fails (and would be retried)

    _run_task_hooks()

    assert _backend_pid() != broken


def test_a_connection_past_its_max_age_is_closed_after_the_task(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)  # restored after the test
    connection.close()  # reopened below with the new max age
    before = _backend_pid()

    _run_task_hooks()

    assert _backend_pid() != before


def test_an_eager_task_leaves_its_callers_connection_alone():
    connection.ensure_connection()
    connection.close_at = 0  # obsolete: a worker's hook would close it

    _run_task_hooks(eager=True)

    assert connection.connection is not None
