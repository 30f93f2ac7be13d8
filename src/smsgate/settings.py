"""All configuration comes from the environment, read through typed helpers that fail loudly."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str = "") -> str:
    """A value from NAME, or from the file named by NAME_FILE (for secrets kept in files)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = env(name, "true" if default else "false").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = env(name, str(default))
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


SMSGATE_HOME = Path(env("SMSGATE_HOME", "var")).resolve()
SMSGATE_LOG_DIR = SMSGATE_HOME / "logs"
BASE_DIR = Path(__file__).resolve().parent


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in $SMSGATE_HOME."""
    key = env("SECRET_KEY")
    if key:
        return key
    key_file = SMSGATE_HOME / "secret_key"
    if not key_file.exists():
        SMSGATE_HOME.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs page's Swagger UI from our static files, not a CDN
    "smsgate.gateways",
    "smsgate.outbox",
    "smsgate.api",
    "smsgate.balance",
    "smsgate.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "smsgate.urls"
WSGI_APPLICATION = "smsgate.wsgi.application"

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


SQLITE_SYNCHRONOUS = env("SMSGATE_SQLITE_SYNCHRONOUS", "FULL").upper()
if SQLITE_SYNCHRONOUS not in ("FULL", "NORMAL"):
    raise ImproperlyConfigured(f"SMSGATE_SQLITE_SYNCHRONOUS must be FULL or NORMAL, not {SQLITE_SYNCHRONOUS}")


def _sqlite(path: Path | str) -> dict:
    return {
        "ENGINE": "smsgate.lib.sqlite3",  # Django's, with writers queued on a file lock (its docstring)
        "NAME": path,
        # WAL lets the web server read while the worker writes; IMMEDIATE takes the write lock at BEGIN,
        # so two writers queue on the busy timeout instead of failing with "database is locked".
        "OPTIONS": {
            # synchronous=FULL: a message acknowledged as queued survives a power cut, not only a crash.
            "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={SQLITE_SYNCHRONOUS};",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
        "TEST": {"NAME": str(SMSGATE_HOME / "test.sqlite3")},
        # Kept open between requests: opening one (and its PRAGMAs) cost every API request time.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def _databases() -> dict:
    """SQLite in $SMSGATE_HOME by default; DATABASE_URL (postgres://… or sqlite:///path) selects another."""
    url = env("DATABASE_URL")
    if not url:
        SMSGATE_HOME.mkdir(parents=True, exist_ok=True)
        return {"default": _sqlite(SMSGATE_HOME / "smsgate.sqlite3")}
    db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return {"default": _sqlite(db["NAME"])}
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:/// URL")
    if env("TEST_DATABASE_NAME"):  # lets several test runs share one PostgreSQL server
        db["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
    return {"default": db}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = SMSGATE_HOME / "static"  # filled by `smsgate init` (collectstatic)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Behind HTTPS (SMSGATE_HTTPS=true) cookies are sent only over TLS, and the proxy's X-Forwarded-Proto tells
# Django the request was secure (without it, the CSRF origin check refuses every form posted over HTTPS).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SMSGATE_HTTPS", False)
if SESSION_COOKIE_SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "smsgate": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
        # `smsgate serve`'s access log: one line per request, stamped like every other line.
        "uvicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# `smsgate serve`: Django's threads in each web process (smsgate/asgi.py); `serve --threads` overrides it.
WEB_THREADS = envint("WEB_THREADS", 8)
SMSGATE_WORKER_CONCURRENCY = envint("SMSGATE_WORKER_CONCURRENCY", 200)
SMSGATE_CLAIM_BATCH = envint("SMSGATE_CLAIM_BATCH", 200)
# A claim lasts the gateway's timeout plus this margin; a worker's heartbeat extends its claims every
# SMSGATE_HEARTBEAT_SECONDS. A killed worker's messages are retaken once the margin has passed.
SMSGATE_LEASE_MARGIN_SECONDS = envfloat("SMSGATE_LEASE_MARGIN_SECONDS", 60)
SMSGATE_HEARTBEAT_SECONDS = envfloat("SMSGATE_HEARTBEAT_SECONDS", 10)
# Circuit breaker: after this many failures in a row a gateway rests for the cool-down, and gateways with
# failover on hand their messages to the next gateway serving them.
SMSGATE_BREAKER_FAILURES = envint("SMSGATE_BREAKER_FAILURES", 5)
SMSGATE_BREAKER_COOLDOWN_SECONDS = envfloat("SMSGATE_BREAKER_COOLDOWN_SECONDS", 60)
# With jitter the first retry comes 15–30 s after a failure, doubling up to an hour.
SMSGATE_FIRST_RETRY_SECONDS = envfloat("SMSGATE_FIRST_RETRY_SECONDS", 30)
SMSGATE_MAX_RETRY_SECONDS = envfloat("SMSGATE_MAX_RETRY_SECONDS", 3600)

# API: /metrics is open unless this is set (then it needs "Authorization: Bearer <value>"); a bulk send of
# 10,000 SMS is a few MB of JSON, past Django's 2.5 MB default.
SMSGATE_METRICS_TOKEN = env("SMSGATE_METRICS_TOKEN")
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("SMSGATE_MAX_REQUEST_BYTES", 32 * 1024 * 1024)

# Mail (balance reports and alerts) goes through SMTP; any variable also reads from NAME_FILE.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)  # TLS from the start, usually port 465
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)  # seconds; a mail server that hangs must not hold a worker
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "smsgate@localhost")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true: pick the port's one")
