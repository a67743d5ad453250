"""What the CLI prints: one JSON object per event, or one human line per event.

Either way an error is printed once, on one line: in JSON mode as an apErrorEvent on stdout
(the same name and fields as the browser SDK's), else as `error CODE: message` on stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from agent import events as ev
from agent.codes import AgentError
from agent.events import AgentEvent


class Printer:
    """Remembers the last fatal error it printed, so the CLI never prints it a second time."""

    def __init__(self) -> None:
        self.last_error: dict[str, Any] | None = None

    def __call__(self, event: AgentEvent) -> None:
        if event.name == ev.ERROR and event.detail.get("fatal", True):
            self.last_error = event.detail
        self.show(event)

    def show(self, event: AgentEvent) -> None:
        raise NotImplementedError

    def error(self, error: AgentError) -> None:
        """An error that did not come as an event (the CLI's own): print it, unless already."""
        if self.last_error != error.to_detail():
            self(AgentEvent(ev.ERROR, error.to_detail()))

    def status(self, agent: Any) -> None:
        """A live status line, where the output allows one."""


class JsonPrinter(Printer):
    """Exactly one JSON object per line per event on stdout, and nothing else."""

    def __init__(self, out: TextIO | None = None) -> None:
        super().__init__()
        self._out = out or sys.stdout

    def show(self, event: AgentEvent) -> None:
        line = json.dumps({"event": event.name, "detail": event.detail}, default=str)
        self._out.write(line + "\n")
        self._out.flush()


def _evidence_text(detail: dict[str, Any]) -> str:
    head = f"evidence {detail.get('evidenceCode')}: {detail.get('message')}"
    if detail.get("source") == ev.SOURCE_SERVER:
        start = detail.get("startS")
        parts = [detail.get("violation"), f"from {start:.1f} s" if start is not None else None]
    else:
        parts = [f"{k}={v}" for k, v in (detail.get("data") or {}).items()]
        parts.append(f"at {detail.get('t', 0):.1f} s")
    return f"{head} ({', '.join(str(p) for p in parts if p)})"


def human_text(event: AgentEvent) -> str:
    detail = event.detail
    if event.name == ev.ERROR:
        kind = "error" if detail.get("fatal", True) else "warning"
        return f"{kind} {detail.get('errorCode')}: {detail.get('message')}"
    if event.name == ev.SUCCESS:
        return f"ready {detail.get('successCode')}: {detail.get('message')}"
    if event.name == ev.EVIDENCE:
        return _evidence_text(detail)
    if event.name == ev.MONITORING_STOPPED:
        score = detail.get("trustScore")
        if score is None:  # the integrator does not show candidates their score
            return "monitoring stopped"
        return f"monitoring stopped, trust score {score}"
    fields = " ".join(f"{k}={v}" for k, v in detail.items() if k != "options")
    return f"{event.name} {fields}".rstrip()


class HumanPrinter(Printer):
    """A line per event (errors and warnings on stderr); on a terminal, a live status line."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        super().__init__()
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._live = self._out.isatty()

    def _write_line(self, stream: TextIO, text: str) -> None:
        prefix = "\r\033[K" if self._live and stream is self._out else ""
        stream.write(f"{prefix}{text}\n")
        stream.flush()

    def show(self, event: AgentEvent) -> None:
        if event.name == ev.CONNECTION_STATE:
            return  # shown on the status line instead
        stream = self._err if event.name == ev.ERROR else self._out
        self._write_line(stream, human_text(event))

    def status(self, agent: Any) -> None:
        if not self._live:
            return
        self._out.write(
            f"\r\033[K[{agent.connection_state}] streamed {agent.seconds_streamed:.0f} s, "
            f"violations {agent.violations}"
        )
        self._out.flush()
