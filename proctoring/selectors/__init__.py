"""Reads, one module per entity; every lookup an integrator can reach is scoped to its client.

Selectors return model instances, querysets or plain data classes, never model instances with
attributes added on the fly. Credential checks are not reads: they are the API's authentication
classes (proctoring.api.auth)."""
