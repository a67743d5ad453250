"""`python manage.py purge_expired`: delete evidence and observations past retention."""

from django.core.management.base import BaseCommand

from proctoring.services.retention import purge_expired


class Command(BaseCommand):
    help = (
        "Delete evidence files, recordings, observations and face templates older than each "
        "client's retention."
    )

    def handle(self, *args, **options) -> None:
        result = purge_expired()
        self.stdout.write(
            f"purged {result.evidence} evidence, {result.observations} observations, "
            f"{result.recordings} recordings, {result.templates} face templates"
        )
