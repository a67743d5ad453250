"""Settings: the one place that reads the environment.

Local use gets safe defaults; PROCTOR_ENV=production refuses to start without its secrets.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from proctoring import messages

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ.get("PROCTOR_ENV", "development")
PRODUCTION = ENV == "production"


def _env(name: str, default: str | None = None, *, required_in_production: bool = False) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if PRODUCTION and required_in_production:
        raise ImproperlyConfigured(f"{name} must be set when PROCTOR_ENV=production")
    if default is None:
        raise ImproperlyConfigured(f"{name} must be set")
    return default


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key"  # noqa: S105 (public by design, see below)
SECRET_KEY = _env("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY, required_in_production=True)
# The development key is public: with it anyone can forge evidence links and session cookies and
# decrypt the stored client secrets. The web service then answers only on a loopback address
# (proctoring.api.middleware.LoopbackOnlyWithDevelopmentKeyASGI).
SECRET_KEY_IS_DEVELOPMENT = SECRET_KEY == DEVELOPMENT_SECRET_KEY
DEBUG = _env("DJANGO_DEBUG", "0" if PRODUCTION else "1") == "1"
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "*")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when PROCTOR_ENV=production")

INSTALLED_APPS = [
    # Without autodiscovery: backend/urls.py loads the admin modules, so that the media process
    # and the workers, which serve no admin, do not import them.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    # Admin login lockout and the CSP header (docs/decisions/0016-admin-hardening.md).
    "axes",
    "csp",
    "proctoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response; one a view set itself is kept (CSP_POLICY).
    "csp.middleware.CSPMiddleware",
    # Browser SDK pages on the integrators' origins (Client.allowed_origins, proctoring.api.cors):
    # before anything that may answer, so that refusals carry the CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Refuses oversized bodies on every API (agent endpoints included) before anything parses them.
    "proctoring.api.middleware.RequestSizeLimitMiddleware",
    # 404 and 405 under /api/ answer {"code", "message"}, with DEBUG on too (issue #19).
    "proctoring.api.middleware.ApiErrorShapeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# --- Admin login (issue #22, finding 10; docs/decisions/0016-admin-hardening.md) -------------
# django-axes counts failed logins per username AND address: past the limit that username is
# refused from that address only, for the cool-off, so an attacker elsewhere cannot lock a
# reviewer out. A success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(_env("PROCTOR_ADMIN_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=_env_float("PROCTOR_ADMIN_LOCKOUT_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# The address as the API's limits see it, forwarding headers trusted only behind
# PROCTOR_NUM_PROXIES proxies (never outside production, where no proxy is declared).
AXES_CLIENT_IP_CALLABLE = "proctoring.admin.lockout.client_address"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(_env("PROCTOR_ADMIN_PASSWORD_MIN_LENGTH", "12"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ROOT_URLCONF = "backend.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"


def _database(url: str) -> dict:
    database = dj_database_url.parse(url, conn_max_age=60)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # The demo SQLite is shared by the web, media and worker processes: wait on locks, WAL.
        database["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        }
        database["CONN_MAX_AGE"] = 0
    return database


DATABASES = {
    "default": _database(_env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/proctoring"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(_env("PROCTOR_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(_env("PROCTOR_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Plain storage for static files: the demo and tests run without collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
# Production is HTTPS only: redirect plain HTTP and tell browsers to stay on HTTPS. The health
# check is exempt so a load balancer can probe over plain HTTP inside the network.
SECURE_SSL_REDIRECT = PRODUCTION and _env("PROCTOR_SSL_REDIRECT", "1") == "1"
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]
SECURE_HSTS_SECONDS = int(_env("PROCTOR_HSTS_SECONDS", "31536000")) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION and _env("PROCTOR_HSTS_PRELOAD", "1") == "1"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: our own pages load scripts, styles,
# images and media from this origin only, no inline script or style, and are framed by nobody.
# A view that sets the header itself (an embeddable page with its client's frame-ancestors)
# keeps its own: the middleware never overwrites one (tests/proctoring/admin/test_hardening.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # data: for the few icons the admin's stylesheets inline.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["proctoring.api.auth.ClientBasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["proctoring.api.auth.IsClient"],
    "EXCEPTION_HANDLER": "proctoring.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["proctoring.api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "proctoring.api.throttles.ClientRateThrottle",
        "proctoring.api.throttles.IpRateThrottle",
    ],
    # Number of reverse proxies in front of the web service (for client IPs).
    "NUM_PROXIES": int(_env("PROCTOR_NUM_PROXIES", "0")) if PRODUCTION else None,
}
# Request bodies past this are refused before they are parsed (SDP offers are a few KB).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(_env("PROCTOR_MAX_REQUEST_BYTES", str(256 * 1024)))
PROCTOR_MAX_REQUEST_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
# Throttle state lives in Redis so limits hold across web workers.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "proctor",
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only after it ran, so a killed worker's task is delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task not acknowledged this long after delivery (its worker died) is delivered again.
# Surviving workers look for such tasks every 10 s rather than kombu's default 100 s
# (interval x throttle), so a lost worker host's tasks are back within finalize's bound.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(_env("PROCTOR_VISIBILITY_TIMEOUT_S", "90")),
    "unacked_restore_throttle": 1,
}
CELERY_TASK_DEFAULT_QUEUE = messages.DEFAULT_QUEUE
CELERY_TASK_ROUTES = {name: {"queue": messages.ANALYSIS_QUEUE} for name in messages.ANALYSIS_TASKS}
# Celery's Django fix-up closes a worker's database connection before and after every task unless
# this is set: a new PostgreSQL backend (fork, authentication, cold caches) for each batch, about 6
# a second at 24 candidates. With it, Celery closes one only every this many tasks, and
# proctoring.worker_hooks drops a connection that broke or passed CONN_MAX_AGE, as Django does
# around a request.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SOFT_TIME_LIMIT = 30
CELERY_TASK_TIME_LIMIT = 60

# Encrypts client secrets at rest (Fernet). Derived from SECRET_KEY outside production.
PROCTOR_SECRET_ENCRYPTION_KEY = _env(
    "PROCTOR_SECRET_ENCRYPTION_KEY", "", required_in_production=True
)

# --- Analysis -----------------------------------------------------------------------------
PROCTOR_MODEL_DIR = Path(_env("PROCTOR_MODEL_DIR", str(BASE_DIR.parent / "shared" / "models")))
# scrfd_500m (InsightFace buffalo_sc, non-commercial), scrfd_2.5g, or yunet (MIT).
PROCTOR_DETECTOR = _env("PROCTOR_DETECTOR", "scrfd_500m")
# SCRFD's main input, WIDTHxHEIGHT in multiples of 32. The default 320x256 refines its doubtful
# detections in crops; 640x480 (+ a 160x128 close-up pass) is the earlier, slower profile
# (docs/decisions/0005-face-detector-default.md, docs/accuracy.md).
PROCTOR_DETECTOR_INPUT = _env("PROCTOR_DETECTOR_INPUT", "320x256")
PROCTOR_VIDEO_SAMPLE_FPS = _env_float("PROCTOR_VIDEO_SAMPLE_FPS", 1.0)
PROCTOR_AUDIO_WINDOW_S = _env_float("PROCTOR_AUDIO_WINDOW_S", 1.0)
PROCTOR_JPEG_QUALITY = int(_env("PROCTOR_JPEG_QUALITY", "85"))
# Observations of one type closer than this merge into one violation.
PROCTOR_MERGE_GAP_S = _env_float("PROCTOR_MERGE_GAP_S", 2.0)
# How long finalize waits for analysis of what was sent before stop: seconds with a worker
# polling and no analysis progress (time with no worker running does not count).
PROCTOR_FINALIZE_TIMEOUT_S = _env_float("PROCTOR_FINALIZE_TIMEOUT_S", 120.0)
# A longer pause between two finalize polls means no worker ran it: only this much of it counts.
PROCTOR_FINALIZE_MAX_POLL_GAP_S = _env_float("PROCTOR_FINALIZE_MAX_POLL_GAP_S", 5.0)
# Analysis that arrives after scoring re-scores the attempt once this long has passed without
# more of it (a burst of late batches re-scores once).
PROCTOR_LATE_RESCORE_DELAY_S = _env_float("PROCTOR_LATE_RESCORE_DELAY_S", 10.0)
# --- Identity (issue #18; docs/analysis.md "Identity", docs/privacy.md) ------------------------
# The face embedding: sface (OpenCV Zoo, Apache-2.0, default) or mobilefacenet (Apache-2.0,
# about 8x faster; trained on a data set Microsoft withdrew, see README).
PROCTOR_IDENTITY_MODEL = _env("PROCTOR_IDENTITY_MODEL", "sface")
# A face that matched is compared again this many sampled frames later (4 = every 4 s at 1
# frame/s); a face that did not match clearly is compared on every frame until it does, so
# K-of-N confirms a different person at the frame rate (docs/benchmarks.md, identity).
PROCTOR_IDENTITY_CHECK_EVERY = int(_env("PROCTOR_IDENTITY_CHECK_EVERY", "4"))
# Once the face has matched this many checks in a row and stays in its seat, it is compared
# every PROCTOR_IDENTITY_SETTLED_EVERY frames instead (10 s at 1 frame/s): a lone candidate's
# identity then costs a third of the worker time (docs/benchmarks.md, issue #18). A face that
# moves away from the last compared face's place is compared at the CHECK_EVERY rate again.
PROCTOR_IDENTITY_SETTLE_AFTER = int(_env("PROCTOR_IDENTITY_SETTLE_AFTER", "3"))
PROCTOR_IDENTITY_SETTLED_EVERY = int(_env("PROCTOR_IDENTITY_SETTLED_EVERY", "10"))
# Reference embeddings enrolled from good frames at the start (the best of them are kept).
PROCTOR_IDENTITY_REFERENCES = int(_env("PROCTOR_IDENTITY_REFERENCES", "3"))
# An enrolment problem (no face, two faces, too small, unclear) is told to the candidate when it
# changes, and again at most this often while it lasts.
PROCTOR_IDENTITY_TELL_EVERY_S = _env_float("PROCTOR_IDENTITY_TELL_EVERY_S", 5.0)
# Tries of the ID card check (the SDK allows 5); a failure is recorded, never blocks the test.
PROCTOR_ID_CARD_MAX_TRIES = int(_env("PROCTOR_ID_CARD_MAX_TRIES", "5"))
# --- Coverage and fail-closed rules (docs/trust-score.md, "Fail closed") -------------------------
# A required stream's unanalysed stretch shorter than this is the sampling grid or the start-up,
# not missing media: it counts in the coverage figure but is no violation. One sample is 1 s.
PROCTOR_COVERAGE_GAP_TOLERANCE_S = _env_float("PROCTOR_COVERAGE_GAP_TOLERANCE_S", 3.0)
# An attempt whose required stream was analysed for less than this share of the test is flagged
# for review, whatever its score.
PROCTOR_MIN_COVERAGE = _env_float("PROCTOR_MIN_COVERAGE", 0.9)
# The screen is received, not analysed: a frame covers this long (the agent sends one every 5 s).
PROCTOR_SCREEN_FRAME_COVERS_S = _env_float("PROCTOR_SCREEN_FRAME_COVERS_S", 12.0)
# A session that received media this recently is live: a second start without its token is a
# second session (a violation), not a reconnect.
PROCTOR_SESSION_LIVE_S = _env_float("PROCTOR_SESSION_LIVE_S", 5.0)
# A started attempt with no open session for this long is abandoned: stopped and scored, the
# time since its last media counted as offline. Checked every PROCTOR_ABANDON_CHECK_S.
PROCTOR_ABANDONED_AFTER_S = _env_float("PROCTOR_ABANDONED_AFTER_S", 600.0)
PROCTOR_ABANDON_CHECK_S = _env_float("PROCTOR_ABANDON_CHECK_S", 60.0)
CELERY_BEAT_SCHEDULE = {
    "purge-expired-evidence": {"task": messages.PURGE_EXPIRED, "schedule": 24 * 3600},
    "stop-abandoned-attempts": {
        "task": messages.STOP_ABANDONED,
        "schedule": PROCTOR_ABANDON_CHECK_S,
    },
}

# --- Media ingest (aiortc) -----------------------------------------------------------------
# Host addresses offered as ICE candidates: the public address in production; 127.0.0.1 for
# loopback tests (aioice never offers loopback on its own). Empty means every interface.
PROCTOR_ICE_HOST_ADDRESSES = _env_list("PROCTOR_ICE_HOST_ADDRESSES")
# Remote ICE candidates one offer may name (distinct address, port, transport): the media
# process sends STUN checks to each, so an offer must not turn it into a packet cannon.
PROCTOR_ICE_MAX_REMOTE_CANDIDATES = int(_env("PROCTOR_ICE_MAX_REMOTE_CANDIDATES", "20"))
# Candidates on loopback, link-local and private addresses: dropped in production (a candidate
# on the internet has no business offering them) unless set; kept elsewhere (tests, a LAN).
PROCTOR_ICE_ALLOW_PRIVATE_CANDIDATES = (
    _env("PROCTOR_ICE_ALLOW_PRIVATE_CANDIDATES", "0" if PRODUCTION else "1") == "1"
)
# Fixed UDP port range for the media process, "40000-40199"; empty means ephemeral ports.
PROCTOR_ICE_PORT_RANGE = _env("PROCTOR_ICE_PORT_RANGE", "")
# While the broker is unreachable the ingest holds samples this long (and at most this many
# bytes of encoded samples), then drops them and records an analysis gap.
PROCTOR_INGEST_HOLD_S = _env_float("PROCTOR_INGEST_HOLD_S", 60.0)
PROCTOR_INGEST_HOLD_BYTES = int(_env("PROCTOR_INGEST_HOLD_BYTES", str(256 * 1024 * 1024)))
# Video frames and audio windows of all sessions go to the workers in batches, one message
# each: a batch leaves when its oldest sample has waited this long, or at this many samples or
# bytes of encoded samples. The early confirmation sample leaves at once, so a violation waits
# for this at most once. 0.25 s rather than 0.1 s: less worker CPU (fewer tasks, queries per
# batch and VAD steps per window) for about 0.1 s more violation latency (docs/benchmarks.md).
PROCTOR_BATCH_WINDOW_S = _env_float("PROCTOR_BATCH_WINDOW_S", 0.25)
PROCTOR_BATCH_MAX_ITEMS = int(_env("PROCTOR_BATCH_MAX_ITEMS", "32"))
PROCTOR_BATCH_MAX_BYTES = int(_env("PROCTOR_BATCH_MAX_BYTES", str(2 * 1024 * 1024)))
# Sessions one media process takes; past it, offers wait for another ingest (or time out as 503
# ingest_unavailable). One event loop is a core, about 60 candidates at the agent's defaults; 50
# leaves the loop headroom. Without a cap, an overloaded process starves every connection's ICE
# checks, not only the newest (docs/benchmarks.md, ingest and soak). 0 means no cap.
PROCTOR_INGEST_MAX_SESSIONS = int(_env("PROCTOR_INGEST_MAX_SESSIONS", "50"))
# glibc's mmap threshold in the media process, pinned (e.g. 131072) so that freed frame buffers
# go back to the system (proctoring/ingest/memory.py). Off by default (0: glibc's dynamic
# threshold): it keeps the media RSS flat but costs CPU in page faults and mmap lock contention
# (docs/benchmarks.md, soak).
PROCTOR_INGEST_MMAP_THRESHOLD = int(_env("PROCTOR_INGEST_MMAP_THRESHOLD", "0"))
# Every this many seconds the media process hands glibc's free heap pages back to the system
# (malloc_trim), so that its memory stays flat over a long exam without the pinned threshold's
# cost on every allocation (docs/benchmarks.md). 0: off.
PROCTOR_INGEST_MALLOC_TRIM_S = _env_float("PROCTOR_INGEST_MALLOC_TRIM_S", 30.0)
# A peer connection that has not connected by then is closed (the client never came).
PROCTOR_CONNECT_TIMEOUT_S = _env_float("PROCTOR_CONNECT_TIMEOUT_S", 30.0)
# A session whose media stopped this long ago is closed (its client vanished without closing);
# clients reconnect long before this (the agent after 5 s of silence). 0: never.
PROCTOR_SILENT_SESSION_CLOSE_S = _env_float("PROCTOR_SILENT_SESSION_CLOSE_S", 15.0)
# How long the web process waits for an ingest process to answer an SDP offer.
PROCTOR_OFFER_TIMEOUT_S = _env_float("PROCTOR_OFFER_TIMEOUT_S", 10.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("PROCTOR_LOG_LEVEL", "INFO")},
    "loggers": {"aioice": {"level": "WARNING"}, "aiortc": {"level": "WARNING"}},
}

# --- Integrator API, review workflow, webhooks, retention -----------------------------------
# Read on every request (proctoring.api.throttles), so tests and operators can change them.
PROCTOR_THROTTLE_RATES = {
    # Integrators, by client_id (agent endpoints and the results page: the client_id they name).
    "client": _env("PROCTOR_THROTTLE_CLIENT", "600/min"),
    # Everyone, by remote address.
    "ip": _env("PROCTOR_THROTTLE_IP", "1200/min"),
    # Agent endpoints: per attempt (client_id + test_attempt_id), and per address.
    "agent": _env("PROCTOR_THROTTLE_AGENT", "120/min"),
    "agent_ip": _env("PROCTOR_THROTTLE_AGENT_IP", "12000/min"),
}
# Failed signature checks (agent invalid_hash, results page) per window, per source address and
# per target (an attempt, a client's results page): past either, a WRONG signature gets 429
# instead of 403. A correct one always passes (proctoring/api/guards.py).
PROCTOR_HMAC_FAILURES_PER_SOURCE = int(_env("PROCTOR_HMAC_FAILURES_PER_SOURCE", "40"))
PROCTOR_HMAC_FAILURES_PER_TARGET = int(_env("PROCTOR_HMAC_FAILURES_PER_TARGET", "20"))
PROCTOR_HMAC_FAILURE_WINDOW_S = int(_env("PROCTOR_HMAC_FAILURE_WINDOW_S", "600"))

SPECTACULAR_SETTINGS = {
    "TITLE": "Open Proctor API",
    "DESCRIPTION": "Integrator API v1: attempts, violations, evidence, results, usage, webhooks. "
    "Every error is {code, message}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Request strings say that NUL is refused (DRF refuses it in every CharField).
        "proctoring.api.schema.refuse_nul_in_request_strings",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AttemptStatusEnum": "proctoring.statuses.AttemptStatus",
        "DeliveryStatusEnum": "proctoring.models.DeliveryStatus",
        "EvidenceStatusEnum": "proctoring.statuses.EvidenceStatus",
    },
}

# Evidence download links: valid this long after they are minted.
PROCTOR_EVIDENCE_URL_TTL_S = int(_env("PROCTOR_EVIDENCE_URL_TTL_S", "300"))
# Report links (showReport, issue #19): valid this long by default, ttl_s at most the maximum.
PROCTOR_REPORT_URL_TTL_S = int(_env("PROCTOR_REPORT_URL_TTL_S", "3600"))
PROCTOR_REPORT_URL_MIN_TTL_S = 60
PROCTOR_REPORT_URL_MAX_TTL_S = int(_env("PROCTOR_REPORT_URL_MAX_TTL_S", "86400"))
# showResults: a hashed timestamp older than this (or this far in the future) is refused.
PROCTOR_RESULTS_MAX_AGE_S = int(_env("PROCTOR_RESULTS_MAX_AGE_S", "60"))
PROCTOR_RESULTS_MAX_SKEW_S = int(_env("PROCTOR_RESULTS_MAX_SKEW_S", "5"))
# Attempts scoring below this show under "needs review" in the admin.
PROCTOR_REVIEW_THRESHOLD = _env_float("PROCTOR_REVIEW_THRESHOLD", 85.0)
# Webhooks: receivers should refuse signatures older than this; retries back off exponentially.
PROCTOR_WEBHOOK_TOLERANCE_S = int(_env("PROCTOR_WEBHOOK_TOLERANCE_S", "300"))
PROCTOR_WEBHOOK_TIMEOUT_S = _env_float("PROCTOR_WEBHOOK_TIMEOUT_S", 5.0)
PROCTOR_WEBHOOK_MAX_RETRIES = int(_env("PROCTOR_WEBHOOK_MAX_RETRIES", "8"))
PROCTOR_WEBHOOK_BACKOFF_S = _env_float("PROCTOR_WEBHOOK_BACKOFF_S", 10.0)
# Webhooks go to https on public addresses only, checked at each delivery on the resolved
# address (proctoring/webhook_targets.py). Development allows http and private addresses (a
# receiver on this machine); production refuses both unless set.
PROCTOR_WEBHOOK_ALLOW_HTTP = _env("PROCTOR_WEBHOOK_ALLOW_HTTP", "0" if PRODUCTION else "1") == "1"
PROCTOR_WEBHOOK_ALLOW_PRIVATE = (
    _env("PROCTOR_WEBHOOK_ALLOW_PRIVATE", "0" if PRODUCTION else "1") == "1"
)
# After a secret rotation the previous secret keeps verifying for this long.
PROCTOR_SECRET_GRACE_S = int(_env("PROCTOR_SECRET_GRACE_S", str(24 * 3600)))

# --- Browser SDK: CORS, ICE servers, what the answer asks of the sender ------------------------
# Only the capture clients' endpoints answer other origins, and only those listed in a client's
# allowed_origins (the admin sets them; proctoring.api.cors). The integrator API never does: its
# Basic credentials hold the client secret, which no page may see.
CORS_URLS_REGEX = r"^/api/v1/(agent/|protocol/$|health/$)"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 600
# How long a web process keeps the union of the clients' allowed origins (an admin's change
# takes effect within this).
PROCTOR_CORS_ORIGINS_CACHE_S = _env_float("PROCTOR_CORS_ORIGINS_CACHE_S", 5.0)
# ICE servers handed to browsers before they build their peer connection: STUN, and TURN with
# short-lived credentials of the TURN REST scheme (coturn's use-auth-secret). The secret is
# shared with coturn (static-auth-secret) and never leaves the server.
PROCTOR_STUN_URLS = _env_list("PROCTOR_STUN_URLS")
PROCTOR_TURN_URLS = _env_list("PROCTOR_TURN_URLS")
PROCTOR_TURN_SECRET = os.environ.get("PROCTOR_TURN_SECRET", "")
if PROCTOR_TURN_URLS and not PROCTOR_TURN_SECRET:
    raise ImproperlyConfigured("PROCTOR_TURN_URLS needs PROCTOR_TURN_SECRET (coturn's secret)")
PROCTOR_TURN_TTL_S = int(_env("PROCTOR_TURN_TTL_S", str(6 * 3600)))
# Written into the SDP answer: Opus packets this long (fewer packets for the ingest to decrypt
# and decode; the agent already sends 120 ms), and a bitrate ceiling per stream, so that a
# browser sharing its screen keeps sending camera frames (docs/browser-sdk.md, bandwidth).
PROCTOR_ANSWER_AUDIO_PTIME_MS = int(_env("PROCTOR_ANSWER_AUDIO_PTIME_MS", "120"))
PROCTOR_ANSWER_CAMERA_KBPS = int(_env("PROCTOR_ANSWER_CAMERA_KBPS", "300"))
PROCTOR_ANSWER_SCREEN_KBPS = int(_env("PROCTOR_ANSWER_SCREEN_KBPS", "150"))
# The demo exam page (/sdk/v1/demo/) signs attempts for this client, as an integrator's backend
# would; empty (the default, and always in production) turns the page off.
PROCTOR_SDK_DEMO_CLIENT_ID = "" if PRODUCTION else os.environ.get("PROCTOR_SDK_DEMO_CLIENT_ID", "")
