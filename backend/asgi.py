"""ASGI entry point of the web service (uvicorn backend.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_application = get_asgi_application()

from proctoring.api.middleware import (  # noqa: E402 - needs Django set up
    BodySizeLimitASGI,
    LoopbackOnlyWithDevelopmentKeyASGI,
)

# Bodies are counted as they arrive, chunked ones too, before Django buffers them; and nothing
# is served beyond loopback with the public development key.
application = LoopbackOnlyWithDevelopmentKeyASGI(BodySizeLimitASGI(django_application))
