"""Run a media ingest process: `python manage.py run_media`."""

import asyncio
import signal

from django.conf import settings
from django.core.checks import Tags
from django.core.management.base import BaseCommand

from proctoring.ingest import ice, jitter, memory
from proctoring.ingest.server import MediaServer


class Command(BaseCommand):
    help = "Answer WebRTC offers and stream sampled media to the analysis workers."
    # Not the model checks (no model runs here) nor the URL checks (they load the web's views):
    # the media process stays a pure adapter (tests/proctoring/ingest/test_pure_adapter.py).
    requires_system_checks = [
        Tags.caches,
        Tags.compatibility,
        Tags.models,
        Tags.security,
        Tags.signals,
    ]

    def handle(self, *args, **options) -> None:
        ice.use_host_addresses(settings.PROCTOR_ICE_HOST_ADDRESSES)
        jitter.release_video_frames_on_marker()
        memory.pin_mmap_threshold(settings.PROCTOR_INGEST_MMAP_THRESHOLD)
        ports = ice.parse_port_range(settings.PROCTOR_ICE_PORT_RANGE)
        loop_factory = (lambda: ice.PortRangeEventLoop(ports)) if ports else None
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(self._serve())

    async def _serve(self) -> None:
        server = MediaServer()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        await server.run()
