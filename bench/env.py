"""The benchmarks' own PostgreSQL database and Redis DB number, and Django set up on them."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DB_NAME = "proctoring_bench"
# Never the product's own databases: the benchmarks truncate their tables.
FORBIDDEN_DB_NAMES = frozenset({"proctoring", "test_proctoring"})
BENCH_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB_NAME}"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
MODEL_DIR = Path(os.environ.get("PROCTOR_MODEL_DIR", SHARED / "models"))
MEDIA_DIR = Path(os.environ.get("PROCTOR_MEDIA_DIR", SHARED / "media"))
MIGRATE_TIMEOUT_S = 300
PROCTORING_TABLE_PREFIX = "proctoring_"


def bench_env(**overrides: str) -> dict[str, str]:
    """Environment for Django in this process and for the stack's processes."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=BENCH_DATABASE_URL,
        REDIS_URL=BENCH_REDIS_URL,
        PROCTOR_MODEL_DIR=str(MODEL_DIR),
        PROCTOR_ICE_HOST_ADDRESSES="127.0.0.1",
        PROCTOR_LOG_LEVEL="WARNING",
        DJANGO_DEBUG="0",  # as deployed: no query log, no debug pages
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def create_database() -> None:
    assert BENCH_DB_NAME not in FORBIDDEN_DB_NAMES
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB_NAME,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB_NAME}"')


def migrate() -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=bench_env(),
        check=True,
        timeout=MIGRATE_TIMEOUT_S,
    )


def truncate_tables() -> None:
    """Empty the app's tables in the bench database (a fresh start for every run)."""
    from django.db import connection

    assert connection.settings_dict["NAME"] == BENCH_DB_NAME
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE %s",
            (PROCTORING_TABLE_PREFIX + "%",),
        )
        tables = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def flush_redis() -> None:
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def prepare() -> None:
    """Bench database migrated, Django set up on it in this process, tables and Redis empty."""
    create_database()
    migrate()
    os.environ.update(bench_env())
    import django

    django.setup()
    truncate_tables()
    flush_redis()
