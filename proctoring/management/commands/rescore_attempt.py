"""Re-score a stopped attempt from its stored observations, without running a model."""

import json

from django.core.management.base import BaseCommand, CommandError

from proctoring.exceptions import ProctoringError
from proctoring.models import Client
from proctoring.selectors.attempts import attempt_get_for_client
from proctoring.services.scoring import attempt_rescore


class Command(BaseCommand):
    help = (
        "Re-judge an attempt's stored observations with other thresholds or weights; no model runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("client_id")
        parser.add_argument("test_attempt_id")
        parser.add_argument("--thresholds", type=json.loads, default=None, help="JSON object")
        parser.add_argument("--profile", type=json.loads, default=None, help="JSON object")
        parser.add_argument("--comment", default="")

    def handle(self, *args, **options) -> None:
        client = Client.objects.filter(client_id=options["client_id"]).first()
        if client is None:
            raise CommandError(f"no client {options['client_id']!r}")
        try:
            attempt = attempt_get_for_client(
                client=client, test_attempt_id=options["test_attempt_id"]
            )
            before = attempt.trust_score
            attempt = attempt_rescore(
                attempt=attempt,
                thresholds=options["thresholds"],
                score_profile=options["profile"],
                actor_label="manage.py rescore_attempt",
                comment=options["comment"],
            )
        except ProctoringError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{attempt.test_attempt_id}: trust score {before} -> {attempt.trust_score}"
        )
