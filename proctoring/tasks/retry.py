"""Retry policy shared by the tasks that write to the database."""

from django.db import DatabaseError

# Backoff stays under the broker visibility timeout, so a retried task is not delivered twice.
DB_RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 10,
}
