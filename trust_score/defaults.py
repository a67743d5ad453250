"""The Trust Score's version, violation types and tuned numbers, in one place."""

# Bump when the formula or any default below changes: a stored score is only comparable with
# scores of the same version (its profile is stored with it, so it can be recomputed).
VERSION = "ts-1"

DURATION = "duration"
COUNT = "count"

# Stable order of the breakdown: durations first, then counts, each strongest first.
DURATION_ORDER = ("multiple_humans", "away", "speech", "no_face", "noise")
COUNT_ORDER = ("tab_switch", "monitor_change", "fullscreen_exit", "offline")
TYPE_ORDER = DURATION_ORDER + COUNT_ORDER

DURATION_TYPES = frozenset(DURATION_ORDER)
COUNT_TYPES = frozenset(COUNT_ORDER)
TYPES = DURATION_TYPES | COUNT_TYPES

# The most points a type can cost: the score is out of 100, so no type may cost more.
MAX_WEIGHT = 100.0

# Weight = the most points one type can cost. Ordered by how strongly the evidence alone points
# at cheating (docs/trust-score.md, "Weights"): a second person is nearly conclusive; a switch
# or time away is deliberate; speech and a missing face have innocent explanations and detector
# errors; noise is the weakest. Among counts, a monitor change is rarely innocent, a full-screen
# exit is often an Escape key press, an offline gap is usually the network.
DEFAULT_WEIGHTS = {
    "multiple_humans": 100.0,
    "away": 65.0,
    "speech": 55.0,
    "no_face": 45.0,
    "noise": 15.0,
    "tab_switch": 70.0,
    "monitor_change": 60.0,
    "fullscreen_exit": 40.0,
    "offline": 25.0,
}

# Half point = the measure at which a type costs half its weight: a fraction of the test for
# durations, events per hour for counts. A second person is damning fast (90 s per hour);
# the rest tolerate more because brief detections are mostly detector or network noise.
# Counts need >= 10 per hour so that one event in an hour costs under 1 point (70 / 101).
DEFAULT_HALF_POINTS = {
    "multiple_humans": 0.025,
    "away": 0.2,
    "speech": 0.2,
    "no_face": 0.25,
    "noise": 0.3,
    "tab_switch": 10.0,
    "monitor_change": 10.0,
    "fullscreen_exit": 10.0,
    "offline": 10.0,
}

# Exponent of the curve u**shape / (1 + u**shape): 2 makes the first bits of evidence cheap
# (single glitches and detector blips) and the cost steep around the half point.
DEFAULT_SHAPE = 2.0
MIN_SHAPE = 1.0

# Fractions and rates are taken over at least 15 minutes: below that one event or one detector
# blip dominates (one switch in a 2-minute quiz is not "30 per hour"). It also keeps a 2-second
# duration glitch under 1 point in a test of any length (docs/trust-score.md, "Short tests").
MIN_TEST_SECONDS = 900.0
# The smallest minimum a profile may set.
MIN_LENGTH_FLOOR = 1.0

# Upper bound on test_seconds (about 31 years): beyond it a length is a bug, not a test.
MAX_TEST_SECONDS = 1e9

# Times are resolved to the millisecond and summed as integers, so unions are exact and
# independent of input order.
MS_PER_SECOND = 1000
MS_PER_HOUR = 3_600_000
