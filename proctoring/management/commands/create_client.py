"""Register an integrator: `python manage.py create_client NAME` prints its credentials once."""

from django.core.management.base import BaseCommand

from proctoring.services.clients import client_create


class Command(BaseCommand):
    help = (
        "Create a client and print its client_id, client_secret and webhook_secret "
        "(shown only this once)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        created = client_create(name=options["name"])
        if options["json"]:
            import json

            self.stdout.write(
                json.dumps(
                    {
                        "client_id": created.client.client_id,
                        "client_secret": created.client_secret,
                        "webhook_secret": created.webhook_secret,
                    }
                )
            )
            return
        self.stdout.write(f"client_id:      {created.client.client_id}")
        self.stdout.write(f"client_secret:  {created.client_secret}")
        self.stdout.write(f"webhook_secret: {created.webhook_secret}")
        self.stdout.write("Store both secrets now: they are not shown again.")
