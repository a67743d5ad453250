"""Stored observations, as the rows the analysis judges (finalize and re-scoring)."""

from proctoring.analysis import findings
from proctoring.models import Attempt, Observation

ROW_FIELDS = ("session_id", "kind", "seq", "attempt_time", "duration_s", "data", "finding")


def observation_rows(*, attempt: Attempt, flagged_only: bool) -> list[findings.Row]:
    query = Observation.objects.filter(attempt=attempt)
    if flagged_only:
        query = query.exclude(finding="")
    return [
        findings.Row(str(session), kind, seq, t, duration, data, finding)
        for session, kind, seq, t, duration, data, finding in query.values_list(*ROW_FIELDS)
    ]
