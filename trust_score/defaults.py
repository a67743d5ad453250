"""The Trust Score's version, violation types and tuned numbers, in one place."""

# Bump when the formula or any default below changes: a stored score is only comparable with
# scores of the same version (its profile is stored with it, so it can be recomputed).
VERSION = "ts-2"

DURATION = "duration"
COUNT = "count"

# Stable order of the breakdown: durations first, then counts. Evidence types run strongest
# first; stream_missing sits right after multiple_humans so that missing coverage is the second
# line a reviewer reads, and analysis_gap sits by its weight, between no_face and noise.
# impersonation (issue #18) was added last, at the end of the durations: the older lines keep
# their places.
DURATION_ORDER = (
    "multiple_humans",
    "stream_missing",
    "away",
    "speech",
    "no_face",
    "analysis_gap",
    "noise",
    "impersonation",
)
COUNT_ORDER = ("multiple_sessions", "tab_switch", "monitor_change", "fullscreen_exit", "offline")
TYPE_ORDER = DURATION_ORDER + COUNT_ORDER

DURATION_TYPES = frozenset(DURATION_ORDER)
COUNT_TYPES = frozenset(COUNT_ORDER)
TYPES = DURATION_TYPES | COUNT_TYPES

# Coverage types: time the server could not analyse, scored so that no evidence never reads as
# clean evidence (docs/trust-score.md, "The fail-closed rule").
COVERAGE_TYPES = frozenset({"stream_missing", "analysis_gap"})

# The most points a type can cost: the score is out of 100, so no type may cost more.
MAX_WEIGHT = 100.0

# Weight = the most points one type can cost. Ordered by how strongly the evidence alone points
# at cheating (docs/trust-score.md, "Default profile"): a second person is nearly conclusive; a
# switch or time away is deliberate; speech and a missing face have innocent explanations and
# detector errors; noise is the weakest. Among counts, a second session and a monitor change are
# rarely innocent, a full-screen exit is often an Escape key press, an offline gap is usually the
# network. Missing coverage costs more than any one stream's evidence except a second person, so
# that switching a stream off never hides a missing face, speech or noise for less; unanalysed
# media is usually the operator's fault, so it costs half as much, but never nothing.
DEFAULT_WEIGHTS = {
    "multiple_humans": 100.0,
    "stream_missing": 60.0,
    "away": 65.0,
    "speech": 55.0,
    "no_face": 45.0,
    "analysis_gap": 30.0,
    "noise": 15.0,
    # A different person than the enrolled candidate is someone else sitting the test: as
    # damning as a second person, and it needs a confirmed run of clear mismatches on judgeable
    # faces (K of N; a poor frame is "uncertain", never a mismatch) before it exists at all.
    "impersonation": 100.0,
    "multiple_sessions": 60.0,
    "tab_switch": 70.0,
    "monitor_change": 60.0,
    "fullscreen_exit": 40.0,
    "offline": 25.0,
}

# Half point = the measure at which a type costs half its weight: a fraction of the test for
# durations, events per hour for counts. A second person is damning fast (90 s per hour);
# the rest tolerate more because brief detections are mostly detector or network noise.
# Missing coverage is not a detector's guess, so a tenth of the test costs half its weight.
# Counts need >= 10 per hour so that one event in an hour costs under 1 point (70 / 101), except
# a second session: the server sees it directly (no glitch to forgive), so one costs 12 points.
DEFAULT_HALF_POINTS = {
    "multiple_humans": 0.025,
    "stream_missing": 0.1,
    "away": 0.2,
    "speech": 0.2,
    "no_face": 0.25,
    "analysis_gap": 0.2,
    "noise": 0.3,
    # 90 s per hour, as for a second person: a minute of someone else answering is the point.
    "impersonation": 0.025,
    "multiple_sessions": 2.0,
    "tab_switch": 10.0,
    "monitor_change": 10.0,
    "fullscreen_exit": 10.0,
    "offline": 10.0,
}

# Exponent of the curve u**shape / (1 + u**shape): 2 makes the first bits of evidence cheap
# (single glitches and detector blips) and the cost steep around the half point.
DEFAULT_SHAPE = 2.0
MIN_SHAPE = 1.0

# Durations are a fraction of at least 1 minute: enough that a 0-second test divides by
# something, short enough that a 20-second quiz without a face scores low (ts-1's 15 minutes
# made it 99.6). The price is that a short glitch costs more in a short quiz
# (docs/trust-score.md, "Short tests").
MIN_TEST_SECONDS = 60.0
# Counts are per hour of at least 15 minutes: one switch in a 2-minute quiz is not "30 per hour".
MIN_COUNT_WINDOW_SECONDS = 900.0
# The smallest floor a profile may set.
MIN_LENGTH_FLOOR = 1.0

# Upper bound on test_seconds (about 31 years): beyond it a length is a bug, not a test.
MAX_TEST_SECONDS = 1e9

# Times are resolved to the millisecond and summed as integers, so unions are exact and
# independent of input order.
MS_PER_SECOND = 1000
MS_PER_HOUR = 3_600_000
