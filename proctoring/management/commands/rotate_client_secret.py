"""`python manage.py rotate_client_secret CLIENT_ID`: print a new secret once."""

from django.core.management.base import BaseCommand, CommandError

from proctoring.models import Client
from proctoring.services.secrets import client_secret_rotate


class Command(BaseCommand):
    help = "Rotate a client's secret; the previous one keeps working for PROCTOR_SECRET_GRACE_S."

    def add_arguments(self, parser) -> None:
        parser.add_argument("client_id")
        parser.add_argument("--grace-seconds", type=int, default=None)

    def handle(self, *args, **options) -> None:
        client = Client.objects.filter(client_id=options["client_id"]).first()
        if client is None:
            raise CommandError(f"no client {options['client_id']}")
        secret = client_secret_rotate(client=client, grace_s=options["grace_seconds"])
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("Store the secret now: it is not shown again.")
