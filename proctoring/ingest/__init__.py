"""WebRTC media ingest: answers offers, samples tracks, hands samples to Celery."""
