"""Random photo requests (seeded schedule, sent on the channel) and the event reporter's queue."""

from __future__ import annotations

import asyncio

from agent import AutoProctor
from agent.tracking import EventReporter, photo_span_s, photo_times
from tests.agent.agent_fake_server import FakeServer
from tests.agent.support import CREDENTIALS, NO_DESKTOP, run

PHOTOS = 5
# One "minute" of testDuration lasts this long in the test.
FAST_MINUTE_S = 1.0


def test_photo_times_are_spread_over_the_test_and_reproducible():
    times = photo_times(100, 3600.0, seed=7)
    assert times == photo_times(100, 3600.0, seed=7) != photo_times(100, 3600.0, seed=8)
    assert len(times) == 100 and times == sorted(times)
    assert times[0] >= 0 and times[-1] < 3600 and times[-1] - times[0] > 1800
    assert photo_span_s(90) == 5400 and photo_span_s(None) == 3600


async def _photos(media: dict) -> FakeServer:
    fake = FakeServer()
    url = await fake.start()
    ap = AutoProctor(**CREDENTIALS, server=url, **media, ice_host_addresses=["127.0.0.1"],
                     photo_seed=1)  # fmt: skip
    tracking = {**NO_DESKTOP, "numPhotosAtRandom": PHOTOS}
    try:
        await ap.setup({"testDuration": 1, "trackingOptions": tracking})
        await ap.start()
        await asyncio.sleep(FAST_MINUTE_S + 0.5)
    finally:
        await ap.destroy()
        await fake.close()
    return fake


def test_random_photos_are_requested_over_the_events_channel(media, loopback_ice, monkeypatch):
    monkeypatch.setattr("agent.tracking.SECONDS_PER_MINUTE", FAST_MINUTE_S)
    fake = run(_photos(media))
    photos = [m for m in fake.received.events if m["code"] == 5003]
    assert [m["detail"] for m in photos] == [{"reason": "random"}] * PHOTOS
    expected = photo_times(PHOTOS, FAST_MINUTE_S, seed=1)
    assert all(abs(m["t"] - at) < 0.3 for m, at in zip(photos, expected, strict=True))


class _Channel:
    def __init__(self) -> None:
        self.readyState = "connecting"
        self.sent: list[str] = []
        self._open = None

    def on(self, name, callback) -> None:
        self._open = callback

    def send(self, data: str) -> None:
        self.sent.append(data)

    def opened(self) -> None:
        self.readyState = "open"
        self._open()


def test_events_wait_for_a_channel_and_are_sent_in_order_when_it_opens():
    local = []
    reporter = EventReporter(local.append)
    reporter.begin()
    reporter.report(5005, {"title": "a"})
    channel = _Channel()
    reporter.attach(channel)
    reporter.report(5006, {"title": "b"})
    assert channel.sent == [] and [m["code"] for m in local] == [5005, 5006]
    channel.opened()
    assert [m.split('"code": ')[1][:4] for m in channel.sent] == ["5005", "5006"]
