"""Client registration."""

from dataclasses import dataclass

from proctoring import signing
from proctoring.models import Client


@dataclass(frozen=True)
class NewClient:
    client: Client
    client_secret: str  # shown once; only its encrypted form is stored
    webhook_secret: str = ""  # shown once too: what the client's webhook receiver verifies with


def client_create(*, name: str, **fields) -> NewClient:
    secret, webhook_secret = signing.new_client_secret(), signing.new_client_secret()
    client = Client.objects.create(
        name=name,
        client_id=signing.new_client_id(),
        secret_encrypted=signing.encrypt_secret(secret),
        webhook_secret_encrypted=signing.encrypt_secret(webhook_secret),
        **fields,
    )
    return NewClient(client=client, client_secret=secret, webhook_secret=webhook_secret)
