"""Settings for PRM. Every setting that varies between machines is read from the environment here, once.

The app's own knobs are named PRM_* and keep their defaults in this module.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("PRM_DEBUG", False)
SECRET_KEY = env("PRM_SECRET_KEY", "insecure-development-key-set-PRM_SECRET_KEY-in-production")

# Tenants live at <slug>.<PRM_BASE_DOMAIN> or at a custom domain stored in TenantDomain; the base domain
# itself serves the platform admin. The tenant middleware answers 404 for every other host, so the
# allowed-hosts list only has to stop obviously malformed Host headers.
PRM_BASE_DOMAIN = env("PRM_BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = env_list("PRM_ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = env_list("PRM_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "prm",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "django_htmx",
    "django_tables2",
    "pgtrigger",
    "partners",
    "onboarding",
    "enablement",
    "dealreg",
    "incentives",
    "crm_sync",
]

MIDDLEWARE = [
    "prm.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "prm.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "prm.middleware.TenantLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "prm.middleware.MembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "prm.middleware.StaffMFAMiddleware",
    "partners.middleware.AgreementGateMiddleware",
]

ROOT_URLCONF = "prm.urls"
PRM_PLATFORM_URLCONF = "prm.urls_platform"
WSGI_APPLICATION = "prm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "prm.context_processors.portal",
            ],
        },
    },
]

# PostgreSQL only: tenant isolation and the CRM outbox rely on its features. `./run` starts an embedded
# server and sets DATABASE_URL when none is given.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/prm"),
        conn_max_age=int(env("PRM_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")


def next_redis_db(url: str) -> str:
    """The same Redis server, the database after the URL's own (redis://h:6379/0 -> redis://h:6379/1)."""
    parts = urlsplit(url)
    current = parts.path.strip("/")
    return urlunsplit(parts._replace(path=f"/{int(current or 0) + 1}"))


# The cache lives in its own Redis database: clearing the cache must never empty the task queues.
PRM_CACHE_URL = env("PRM_CACHE_URL", next_redis_db(REDIS_URL))
# Parallel test processes (pytest-xdist sets PYTEST_XDIST_WORKER) share one Redis: give each its own keys.
_xdist_worker = env("PYTEST_XDIST_WORKER")
PRM_CACHE_KEY_PREFIX = env("PRM_CACHE_KEY_PREFIX", f"prm-{_xdist_worker}" if _xdist_worker else "prm")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": PRM_CACHE_URL,
        "KEY_PREFIX": PRM_CACHE_KEY_PREFIX,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("PRM_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

AUTH_USER_MODEL = "prm.User"
AUTHENTICATION_BACKENDS = [
    "prm.auth.TenantMemberAuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login; verification is mandatory; rate limits live in the Redis cache.
ACCOUNT_ADAPTER = "prm.auth.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("PRM_MFA_ISSUER", "PRM")

# django-guardian: no anonymous user row, direct-foreign-key permission tables per model.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("PRM_STATIC_ROOT", str(BASE_DIR / ".prm" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("PRM_MEDIA_ROOT", str(BASE_DIR / ".prm" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Enablement (and later incentives) uploads: private storage, never served by a URL of its own, only through
# views that check tenant and audience (enablement/storage.py, enablement/uploads.py).
PRM_FILE_STORAGE = env("PRM_FILE_STORAGE", "filesystem")  # "filesystem" or "s3"
PRM_PRIVATE_MEDIA_ROOT = Path(env("PRM_PRIVATE_MEDIA_ROOT", str(MEDIA_ROOT / "private")))
PRM_S3_BUCKET = env("PRM_S3_BUCKET", "")
PRM_S3_ENDPOINT_URL = env("PRM_S3_ENDPOINT_URL", "")
PRM_S3_REGION = env("PRM_S3_REGION", "")
PRM_S3_ACCESS_KEY_ID = env("PRM_S3_ACCESS_KEY_ID", "")
PRM_S3_SECRET_ACCESS_KEY = env("PRM_S3_SECRET_ACCESS_KEY", "")
PRM_S3_PREFIX = env("PRM_S3_PREFIX", "private")
PRM_UPLOAD_MAX_BYTES = int(env("PRM_UPLOAD_MAX_BYTES", str(25 * 1024 * 1024)))
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Email leaves through a Celery task (prm.mail.TaskEmailBackend); the task hands it to PRM_EMAIL_BACKEND.
EMAIL_BACKEND = "prm.mail.TaskEmailBackend"
PRM_EMAIL_BACKEND = env("PRM_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("PRM_EMAIL_FILE_PATH", str(BASE_DIR / ".prm" / "mail"))
EMAIL_HOST = env("PRM_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(env("PRM_EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("PRM_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("PRM_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("PRM_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("PRM_DEFAULT_FROM_EMAIL", "PRM <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: JSON only, acknowledge after the work is done, one message at a time per worker process, and
# requeue a message whose worker died, at most PRM_TASK_MAX_DELIVERIES times (prm.celery.TenantTask).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("PRM_CELERY_QUEUE", PRM_CACHE_KEY_PREFIX)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("PRM_CELERY_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The outbox drain (crm_sync/outbox.py): a record failing this many times with a non-transient CRM error
# becomes a dead letter; the beat drains every tenant's due rows this often (seconds).
PRM_CRM_MAX_ATTEMPTS = int(env("PRM_CRM_MAX_ATTEMPTS", "5"))
PRM_CRM_DRAIN_INTERVAL = float(env("PRM_CRM_DRAIN_INTERVAL", "5"))
# A row left `sending` this long (seconds) by a worker that died is claimed again; the first retry of a
# failed record waits this long (seconds), doubling with each attempt.
PRM_CRM_SENDING_LEASE = float(env("PRM_CRM_SENDING_LEASE", "300"))
PRM_CRM_BACKOFF_BASE = float(env("PRM_CRM_BACKOFF_BASE", "5"))
# The inbound CRM sync (crm_sync/inbound.py): the beat looks this often (seconds) for tenants whose own poll
# interval (CRMConnection.poll_interval, 15 s by default) has passed; the drift check runs this often.
PRM_CRM_POLL_TICK = float(env("PRM_CRM_POLL_TICK", "5"))
PRM_CRM_VERIFY_INTERVAL = float(env("PRM_CRM_VERIFY_INTERVAL", "86400"))
PRM_DEALS_SWEEP_INTERVAL = float(env("PRM_DEALS_SWEEP_INTERVAL", "3600"))
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "prm.tasks.worker_heartbeat", "schedule": 15.0},
    "crm-drain-all": {"task": "crm_sync.tasks.crm_drain_all", "schedule": PRM_CRM_DRAIN_INTERVAL},
    # crm_sync inbound: read each tenant's CRM changes back; the nightly drift check.
    "crm-poll-all": {"task": "crm_sync.tasks.crm_poll_all", "schedule": PRM_CRM_POLL_TICK},
    "crm-verify-all": {"task": "crm_sync.tasks.crm_verify_all", "schedule": PRM_CRM_VERIFY_INTERVAL},
    # onboarding: flag partners stalled in onboarding and email the managers their digest, once a day.
    "onboarding-detect-stalls": {
        "task": "onboarding.tasks.onboarding_detect_stalls_all",
        "schedule": float(env("PRM_STALL_CHECK_INTERVAL", "86400")),
    },
    # dealreg: expire protections, warn 14 days ahead, escalate breached approval SLAs.
    "deals-sweep-all": {"task": "dealreg.tasks.deals_sweep_all", "schedule": PRM_DEALS_SWEEP_INTERVAL},
    # Certificate expiry reminders (30 and 7 days before), once a day; each reminder is sent once.
    "enablement-certification-reminders": {
        "task": "enablement.tasks.certification_reminders_all",
        "schedule": 24 * 3600.0,
    },
    # incentives: evaluate every partner's tier and expire unclaimed MDF approvals, nightly.
    "incentives-nightly": {
        "task": "incentives.tasks.incentives_nightly_all",
        "schedule": float(env("PRM_INCENTIVES_INTERVAL", "86400")),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = env("PRM_BEAT_SCHEDULE", str(BASE_DIR / ".prm" / "celerybeat-schedule"))
PRM_TASK_MAX_DELIVERIES = int(env("PRM_TASK_MAX_DELIVERIES", "3"))
# /healthz calls the worker unhealthy when its last heartbeat is older than this.
PRM_HEARTBEAT_MAX_AGE = int(env("PRM_HEARTBEAT_MAX_AGE", "90"))

# Structured logs: one JSON object per line, carrying the request id and the tenant.
PRM_LOG_FORMAT = env("PRM_LOG_FORMAT", "json")
PRM_LOG_LEVEL = env("PRM_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "prm.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "console": {"format": "%(asctime)s %(levelname)s [%(tenant)s %(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": PRM_LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["stderr"], "level": PRM_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": "INFO"},
    },
}

# The keys that encrypt CRM credentials at rest (crm_sync/crypto.py): comma-separated Fernet keys, newest
# first. Independent of SECRET_KEY; rotate by putting a new key first, running `manage.py crm_rotate_keys`,
# then dropping the old one. Make a key with:
#   python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
# `./run demo` and `./run manage` create one in .prm/crm-encryption.key when the environment sets none.
PRM_CRM_ENCRYPTION_KEYS = env_list("PRM_CRM_ENCRYPTION_KEYS", "")

# The public application form (partners/): at most this many submissions per client address and tenant
# within the window (seconds), counted in the Redis cache.
PRM_APPLICATION_RATE_LIMIT = int(env("PRM_APPLICATION_RATE_LIMIT", "5"))
PRM_APPLICATION_RATE_WINDOW = int(env("PRM_APPLICATION_RATE_WINDOW", "3600"))

# The port people reach the portal on, for links in emails ("" for 80/443 behind a proxy).
PRM_PUBLIC_PORT = env("PRM_PUBLIC_PORT", "8000" if DEBUG else "")
