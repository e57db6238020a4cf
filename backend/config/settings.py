"""One env-driven settings module. Defaults give a newcomer SQLite, eager Celery and a cache in the database."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url

from . import safety
from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)
# Demo mode runs with secrets generated once into var/ (see safety.py). The test suite runs in it: pytest sets
# PYTEST_VERSION before it loads these settings, and the servers a test starts inherit it.
DEMO_MODE = env_bool("DEMO_MODE", "PYTEST_VERSION" in os.environ)
# With DEBUG off and no demo mode, an unset or published secret stops the process here (ImproperlyConfigured).
_secrets = safety.resolve(os.environ, local=DEBUG or DEMO_MODE, store=VAR_DIR / "demo-secrets.env")
SECRET_KEY = _secrets["SECRET_KEY"]

APP_URL = env_str("APP_URL", "http://127.0.0.1:8000").rstrip("/")
_app_host = urlparse(APP_URL).hostname or "localhost"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_app_host, "localhost", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = [APP_URL]

SHOPIFY_API_KEY = env_str("SHOPIFY_API_KEY", "demo-api-key")
SHOPIFY_API_SECRET = _secrets["SHOPIFY_API_SECRET"]
# The previous secret while Shopify rotates it: webhooks signed with either verify until it is removed.
SHOPIFY_API_SECRET_OLD = _secrets["SHOPIFY_API_SECRET_OLD"]
SHOPIFY_API_VERSION = env_str("SHOPIFY_API_VERSION", "2026-10")
# Ad audiences: where the Meta Graph API and Google's Data Manager API are (tests point them at local stand-ins).
META_GRAPH_URL = env_str("META_GRAPH_URL", "https://graph.facebook.com").rstrip("/")
GOOGLE_DATAMANAGER_URL = env_str("GOOGLE_DATAMANAGER_URL", "https://datamanager.googleapis.com").rstrip("/")
# Tests and the demo point Shopify traffic at a local stand-in; empty means the real shopify.com hosts.
SHOPIFY_STANDIN_URL = env_str("SHOPIFY_STANDIN_URL", "")
# Parents (products, orders, ...) per upsert batch during a full sync; progress is recorded after each batch.
# Parents per upsert batch: 4,000 measured fastest on the 50k-product bench (1,000: 151 s; 8,000: no gain, 412 MB).
SHOPIFY_SYNC_BATCH_SIZE = env_int("SHOPIFY_SYNC_BATCH_SIZE", 4000)
# WooCommerce: stores on loopback/private addresses are refused (we call them from our servers) except in the demo
# and tests; a CA bundle lets the client trust a stand-in's self-signed certificate.
WOOCOMMERCE_ALLOW_LOOPBACK_STORES = env_bool("WOOCOMMERCE_ALLOW_LOOPBACK_STORES", DEBUG)
WOOCOMMERCE_CA_BUNDLE = env_str("WOOCOMMERCE_CA_BUNDLE", "")

# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt, so keys rotate without downtime.
FIELD_ENCRYPTION_KEYS = safety.split_keys(_secrets["FIELD_ENCRYPTION_KEY"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "backend.core",
    "backend.shops",
    "backend.catalog",
    "backend.customers",
    "backend.orders",
    "backend.events",
    "backend.recommendations",
    "backend.segments",
    "backend.predictions",
    "backend.popups",
    "backend.experiments",
    "backend.recipes",
    "backend.emails",
    "backend.storefront",
    "backend.dashboard",
    "backend.audiences",
    "backend.demostore",
    "backend.upkeep",
    "integrations.shopify",
    "integrations.woocommerce",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the X-Frame-Options one, so it sees the response first: embedded admin pages get frame-ancestors instead.
    "backend.dashboard.framing.ShopifyAdminFramingMiddleware",
    "backend.dashboard.language.AdminLanguageMiddleware",  # merchant screens speak the page language (gettext)
    "backend.core.outage.OutageMiddleware",  # database/cache down: JSON 503 + Retry-After, never an HTML 500
]

ROOT_URLCONF = "backend.config.urls"
WSGI_APPLICATION = "backend.config.wsgi.application"

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
                "backend.dashboard.shell.shell_context",  # the cockpit's nav/layout for every merchant page
            ],
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while a sync writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests on a file, not shared-cache memory: live-server threads then take SQLite's file locks (which wait,
    # with WAL) instead of shared-cache table locks (which fail at once with "database table is locked").
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# A PostgreSQL streaming replica for the widget API's reads (backend/core/replica.py); writes always go to the
# primary, and reads fall back to it while the replica lags more than REPLICA_MAX_LAG_SECONDS.
REPLICA_DATABASE_URL = env_str("REPLICA_DATABASE_URL", "")
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = dj_database_url.parse(REPLICA_DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
REPLICA_MAX_LAG_SECONDS = float(env_str("REPLICA_MAX_LAG_SECONDS", "5"))
DATABASE_ROUTERS = ["backend.core.replica.ReplicaRouter"]  # a no-op without a "replica" database
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
# A dead or unreachable Redis must fail a request's cache call within a second, not hang it for redis-py's default
# 5 s: the storefront then serves what the worker holds or answers 503 (backend/core/outage.py).
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": REDIS_CACHE_OPTIONS}}
else:
    # One cache every process shares (gunicorn runs several workers): OAuth state, rate limits and memos in the
    # database, in the table backend/core's migration creates. Per-process memory would let each worker keep its own.
    CACHES = {"default": {"BACKEND": "backend.core.sharedcache.SharedDatabaseCache", "LOCATION": "core_cache",
                          "OPTIONS": {"MAX_ENTRIES": 100_000}}}

# Celery: a broker when REDIS_URL (or CELERY_BROKER_URL, e.g. RabbitMQ) is set, otherwise tasks run in-process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another: work repeats, never drops
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "compute"
CELERY_TASK_ROUTES = {
    "integrations.*.webhooks.*": {"queue": "webhooks"},
    "integrations.*.tasks.process_webhook*": {"queue": "webhooks"},
    "integrations.*.tasks.*sync*": {"queue": "sync"},
    "integrations.*.tasks.*reconcile*": {"queue": "sync"},
    "backend.audiences.tasks.sync_audience_task": {"queue": "sync"},
    "backend.audiences.tasks.purge_people": {"queue": "sync"},
}
# Periodic work by need (backend/upkeep): only shops where something happened get a task, spread over the period.
# Off: the old fixed clock, one task per installed shop per job (kept for the many-shop bench's "before").
PERIODIC_BY_NEED = env_bool("PERIODIC_BY_NEED", True)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [d for d in [BASE_DIR / "widgets" / "dist"] if d.exists()]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

# Behind a TLS-terminating proxy (README: Configuration, Production). X-Forwarded-Proto is trusted only when told:
# reached directly, any client could send it and pass for https.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = not DEBUG and APP_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# No page may be framed, except the embedded admin by its own shop's Shopify admin (backend/dashboard/framing.py).
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Behind our own load balancers: how many of them append to X-Forwarded-For (0: REMOTE_ADDR is the client).
# Every per-address budget (events, codes, consents, sign-in attempts) counts the address this finds.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
# Public event endpoint budgets (events per minute); raise for a NAT-heavy audience or a load test.
STOREFRONT_EVENTS_PER_IP_PER_MINUTE = env_int("STOREFRONT_EVENTS_PER_IP_PER_MINUTE", 600)
STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE = env_int("STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE", 120)

# Recipe emails go through Django's email backends: SMTP by default (EMAIL_HOST/EMAIL_PORT/...), or an ESP through
# django-anymail by naming its backend, e.g. EMAIL_BACKEND=anymail.backends.postmark.EmailBackend, with the ESP's
# settings as ANYMAIL_<NAME> variables (ANYMAIL_POSTMARK_SERVER_TOKEN=...).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"no-reply@{_app_host}")
ANYMAIL = {k.removeprefix("ANYMAIL_"): v for k, v in os.environ.items() if k.startswith("ANYMAIL_")}
# Recipes' "call my URL" steps go to public https addresses only; the tests and the demo call a local server.
RECIPES_ALLOW_LOOPBACK_WEBHOOKS = env_bool("RECIPES_ALLOW_LOOPBACK_WEBHOOKS", DEBUG)
