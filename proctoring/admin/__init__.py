"""Django admin: clients (secrets never shown after creation), the attempt review workflow,
webhook deliveries with a resend button, and per-detector precision of reviewed violations.

One module per area, so that each can change without the others; importing the package
registers them all (backend/urls.py runs admin.autodiscover)."""

from proctoring.admin import attempts, audit, clients, deliveries, reviews  # noqa: F401  (registration)
