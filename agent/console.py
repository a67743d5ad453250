"""What the CLI prints: one JSON object per event, or human lines plus a live status line."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from agent import events as ev
from agent.events import AgentEvent
from agent.lifecycle import AutoProctor


class JsonPrinter:
    """Exactly one JSON object per line per event on stdout, and nothing else."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out

    def __call__(self, event: AgentEvent) -> None:
        line = json.dumps({"event": event.name, "detail": event.detail}, default=str)
        self._out.write(line + "\n")
        self._out.flush()

    def status(self, agent: AutoProctor) -> None:
        """No status line in JSON mode: it would break the one-object-per-line contract."""


class HumanPrinter:
    """A line per event; on a terminal, a status line rewritten in place."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._live = out.isatty()

    def _write_line(self, text: str) -> None:
        prefix = "\r\033[K" if self._live else ""
        self._out.write(f"{prefix}{text}\n")
        self._out.flush()

    def __call__(self, event: AgentEvent) -> None:
        if event.name == ev.CONNECTION_STATE:
            return  # shown on the status line instead
        if event.name == ev.ERROR:
            text = f"error {event.detail.get('code')}: {event.detail.get('message')}"
        elif event.name == ev.PROGRESS:
            text = f"progress {event.detail.get('code')} {event.detail.get('message')}"
        elif event.name == ev.TRACKING:
            text = f"event {event.detail.get('code')} {event.detail.get('detail')}"
        elif event.name == ev.MONITORING_STOPPED:
            text = f"monitoring stopped, trust score {event.detail.get('trustScore')}"
        else:
            fields = " ".join(f"{k}={v}" for k, v in event.detail.items() if k != "options")
            text = f"{event.name} {fields}".rstrip()
        self._write_line(text)

    def status(self, agent: AutoProctor) -> None:
        if not self._live:
            return
        self._out.write(
            f"\r\033[K[{agent.connection_state}] streamed {agent.seconds_streamed:.0f} s, "
            f"violations {agent.violations}"
        )
        self._out.flush()
