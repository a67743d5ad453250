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
    return client_register(client=Client(name=name, **fields))


def client_register(*, client: Client) -> NewClient:
    """Gives a new, unsaved client its id and both secrets, and saves it (the admin's add form
    builds the client from its fields). The secrets are returned to be shown once."""
    secret, webhook_secret = signing.new_client_secret(), signing.new_client_secret()
    client.client_id = signing.new_client_id()
    client.secret_encrypted = signing.encrypt_secret(secret)
    client.webhook_secret_encrypted = signing.encrypt_secret(webhook_secret)
    client.save(force_insert=True)
    return NewClient(client=client, client_secret=secret, webhook_secret=webhook_secret)
