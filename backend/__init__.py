"""Django project and Celery app of the proctoring backend."""

from backend.celery import app as celery_app

__all__ = ["celery_app"]
