"""Settings, all from environment variables (see docs/configuration.md)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("HOTLINE_DATA_DIR", Path.cwd() / "data")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("HOTLINE_DEBUG", False)
# "production" (or a non-local ALLOWED_HOSTS, or `hotline serve` on a
# non-loopback address) makes the development key an error: hotline.core.checks.
HOTLINE_ENV = os.environ.get("HOTLINE_ENV", "").strip().lower()
DEVELOPMENT_SECRET_KEY = "insecure-dev-key-change-me-in-production"
SECRET_KEY = os.environ.get("HOTLINE_SECRET_KEY") or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = [h for h in os.environ.get("HOTLINE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("HOTLINE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    # ninja as an app: /api/docs serves its own Swagger UI files, not a CDN's.
    "ninja",
    "hotline.core",
    "hotline.organisation",
    "hotline.calendars",
    "hotline.catalog",
    "hotline.contacts",
    "hotline.calls",
    "hotline.workorders",
    "hotline.timelimits",
    "hotline.outages",
    "hotline.selfservice",
    "hotline.web",
    "hotline.workforce",
    "hotline.planning",
    "hotline.reports",
    "hotline.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hotline.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hotline.core.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "hotline.urls"
WSGI_APPLICATION = "hotline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hotline.calendars.context_processors.calendar_banner",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'hotline.sqlite3'}"
if "DATABASE_URL" not in os.environ:
    # The embedded default: its folder must exist before any command opens it.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_sqlite), conn_max_age=int(os.environ.get("HOTLINE_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while the other writes;
    # IMMEDIATE transactions take the write lock up front, so two writers
    # queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("HOTLINE_TEST_SQLITE") or None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # hotline's queries are short OLTP reads and writes: JIT compiling a plan
    # whose estimated cost passes jit_above_cost (a count over a year of
    # orders) costs 30-110 ms and saves nothing here, so it is off for our
    # connections (HOTLINE_PG_JIT=on restores the server's setting).
    if os.environ.get("HOTLINE_PG_JIT", "off") == "off":
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()

# A database cache so that login throttling and similar counters hold across
# every web process (created by `hotline up` / `hotline createcachetable`).
# MAX_ENTRIES: above it the database cache culls live entries too (in key
# order), which could drop a login lock; the default 300 is too few.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "hotline_cache",
                      "OPTIONS": {"MAX_ENTRIES": 20_000}}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "organisation.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("HOTLINE_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Served by the installation itself (offline intranets): WhiteNoise reads the
# app static folders directly, so no collectstatic step is needed to start.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("HOTLINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 12 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HOTLINE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


def _trusted_proxies(raw: str) -> list[str]:
    """Reverse proxies whose X-Forwarded-For names the client (addresses or CIDRs)."""
    import ipaddress

    from django.core.exceptions import ImproperlyConfigured

    out = []
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"HOTLINE_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
        out.append(item)
    return out


def _api_rate(raw: str, variable: str = "HOTLINE_API_RATE") -> tuple[int, int]:
    """"600/minute" -> (600, 60): requests per window of seconds; "0" turns the limit off."""
    from django.core.exceptions import ImproperlyConfigured

    units = {"second": 1, "minute": 60, "hour": 3600}
    count, _, unit = raw.strip().partition("/")
    try:
        return int(count), units[unit.strip().lower() or "minute"]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"{variable}: {raw!r} is not like 600/minute (per second, minute or hour)") from None


# Product settings (defaults of configurable policies live in the database).
HOTLINE = {
    "DEFAULT_AREA_CODE": os.environ.get("HOTLINE_DEFAULT_AREA_CODE", "0571"),
    "WORKER_INTERVAL_SECONDS": float(os.environ.get("HOTLINE_WORKER_INTERVAL", "2")),
    "WORKER_BATCH": int(os.environ.get("HOTLINE_WORKER_BATCH", "500")),
    # The storm what-if's time budget in the worker (planning).
    "PLANNING_WHATIF_SECONDS": float(os.environ.get("HOTLINE_WHATIF_SECONDS", "60")),
    "WORKER_MIN_GAP_SECONDS": float(os.environ.get("HOTLINE_WORKER_MIN_GAP", "0.5")),
    "LOGIN_FAILURE_LIMIT": int(os.environ.get("HOTLINE_LOGIN_FAILURE_LIMIT", "5")),
    "LOGIN_ADDRESS_LIMIT": int(os.environ.get("HOTLINE_LOGIN_ADDRESS_LIMIT", "30")),
    "LOGIN_ACCOUNT_LIMIT": int(os.environ.get("HOTLINE_LOGIN_ACCOUNT_LIMIT", "20")),
    "TRUSTED_PROXIES": _trusted_proxies(os.environ.get("HOTLINE_TRUSTED_PROXIES", "")),
    "API_RATE": _api_rate(os.environ.get("HOTLINE_API_RATE", "600/minute")),
    # Customer self-service lookups (page and /api/public/) per client address.
    "PUBLIC_RATE": _api_rate(os.environ.get("HOTLINE_PUBLIC_RATE", "30/minute"), "HOTLINE_PUBLIC_RATE"),
}

# Outgoing mail (the outbox's e-mail channel): SMTP through Django's backend.
EMAIL_BACKEND = os.environ.get("HOTLINE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("HOTLINE_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("HOTLINE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("HOTLINE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HOTLINE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HOTLINE_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("HOTLINE_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = float(os.environ.get("HOTLINE_EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("HOTLINE_EMAIL_FROM", "hotline@localhost")
