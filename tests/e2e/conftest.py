"""A running stack for end-to-end tests: ASGI web, media ingest and a Celery worker process."""

import os
import sys

import pytest
from django.conf import settings
from django.db import connection

from scripts.stack import Stack


def stack_env(**overrides: str) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        # The processes share the test database that pytest-django created.
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        PROCTOR_MODEL_DIR=str(settings.PROCTOR_MODEL_DIR),
        PROCTOR_ICE_HOST_ADDRESSES="127.0.0.1",
        PROCTOR_FINALIZE_TIMEOUT_S="60",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@pytest.fixture
def stack(transactional_db, redis_client, tmp_path):
    # Stale nodes or queued messages from an earlier run must not answer this run's offers.
    redis_client.flushdb()
    with Stack(env=stack_env(), log_dir=tmp_path / "logs") as running:
        yield running
    for name in ("web", "media", "worker"):
        sys.stdout.write(f"--- {name} log (tail) ---\n{running.log(name)[-1500:]}\n")
