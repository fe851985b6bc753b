"""Settings, 12-factor style: everything that differs between machines comes from the environment.

DATABASE_URL    default sqlite:///<repo>/var/huzhu.sqlite3 (embedded); postgres://... in production
SECRET_KEY      required when DEBUG is off; with DEBUG on a key is generated into var/secret_key
HUZHU_FIELD_KEY Fernet key encrypting bank accounts, ID numbers and phones at rest (and keying their
                blind indexes); same rule as SECRET_KEY (var/field_key)
HUZHU_FIELD_OLD_KEYS  previous field keys, comma-separated, still read during `huzhu rotate-keys`
DEBUG           "1"/"true" turns debug on (the demo does); default off
ALLOWED_HOSTS   comma-separated; default localhost names
TIME_ZONE       default Asia/Shanghai
HUZHU_TASKS     "db" (default, embedded worker: `huzhu db_worker`) or "rq" (Redis: REDIS_URL)
HUZHU_VAR_DIR   where the embedded database, generated keys and uploads live; default <repo>/var
HUZHU_NOTIFY_CHANNELS  comma-separated member notification channels (default wechat with a
                WeChat app id, else console)
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("HUZHU_VAR_DIR", REPO_DIR / "var"))


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _generated_secret(name: str, make) -> str:
    """Read a development secret from var/, creating it on first use."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def _django_key() -> str:
    from django.core.management.utils import get_random_secret_key

    return get_random_secret_key()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


DEBUG = _env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or run with DEBUG=1 for a development key generated into var/secret_key."
        )
    SECRET_KEY = _generated_secret("secret_key", _django_key)

FIELD_ENCRYPTION_KEY = os.environ.get("HUZHU_FIELD_KEY", "")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "HUZHU_FIELD_KEY is not set. It is the key that encrypts bank accounts at rest: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ", or run with DEBUG=1 for a development key generated into var/field_key."
        )
    FIELD_ENCRYPTION_KEY = _generated_secret("field_key", _fernet_key)
# During a key rotation (docs/security.md): the previous key(s), still read, never written.
FIELD_ENCRYPTION_OLD_KEYS = [
    k.strip() for k in os.environ.get("HUZHU_FIELD_OLD_KEYS", "").split(",") if k.strip()
]

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "huzhu.core",
    "huzhu.organizations",
    "huzhu.audit",
    "huzhu.members",
    "huzhu.enrollment",
    "huzhu.plans",
    "huzhu.claims",
    "huzhu.settlements",
    "huzhu.hospitals",
    "huzhu.payments",
    "huzhu.reports",
    "huzhu.ops",
    "huzhu.wechat",
    "huzhu.api",
    "huzhu.web",
    "huzhu.portal",
    # Wagtail (the public portal)
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.search_promotions",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # background tasks
    "django_tasks",
    "django_tasks_db",
    # Swagger UI's files served by the platform itself (/api/docs works offline)
    "ninja",
    "csp",
    # login hardening: lockout (axes) and the second factor (django-otp)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "huzhu.ops.tracing.RequestIdMiddleware",
    "huzhu.ops.metrics.MetricsMiddleware",
    # Before anything reads it: an API body over its limit is refused (413).
    "huzhu.api.limits.ApiBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "huzhu.web.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "huzhu.web.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # The CMS autosave racing the save button of a page being created (huzhu/portal/middleware.py).
    "huzhu.portal.middleware.PageCreateRaceMiddleware",
    # Turns a lockout into the Chinese lockout page; must stay last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "huzhu.urls"

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
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "huzhu.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'huzhu.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # One writer at a time on SQLite: wait for the lock instead of failing, and take the
    # write lock at BEGIN so a read-then-write transaction cannot deadlock (pitfalls.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "organizations.User"
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"
LOGOUT_REDIRECT_URL = "/staff/login/"

# Login hardening (docs/security.md). Every password login (/staff/, and /cms/ and
# /django-admin/, whose login pages redirect to /staff/login/) goes through django-axes:
# 5 failures for one user name from one address lock that pair out.
AUTHENTICATION_BACKENDS = [
    "huzhu.organizations.security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A lockout lifts by itself after HUZHU_LOCKOUT_MINUTES (0: only an administrator unlocks).
_LOCKOUT_MINUTES = int(os.environ.get("HUZHU_LOCKOUT_MINUTES", "30"))
AXES_COOLOFF_TIME = timedelta(minutes=_LOCKOUT_MINUTES) if _LOCKOUT_MINUTES else None
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "huzhu.web.views.login.lockout_response"
AXES_CLIENT_IP_CALLABLE = "huzhu.organizations.security.client_ip"
AXES_VERBOSE = False
# Behind a reverse proxy: how many proxies append to X-Forwarded-For (0 = use REMOTE_ADDR).
HUZHU_TRUSTED_PROXIES = int(os.environ.get("HUZHU_TRUSTED_PROXIES", "0"))
# Roles that must log in with a second factor (TOTP or a recovery code); superusers too.
# Other staff may enrol one and are then asked for it too.
HUZHU_SECOND_FACTOR_ROLES = ["admin", "federation_reviewer", "federation_finance"]
OTP_TOTP_ISSUER = "嵊州市总工会 职工医疗互助"
# Staff sessions end after this many idle seconds and when the browser closes.
HUZHU_STAFF_IDLE_SECONDS = 30 * 60
WAGTAILADMIN_LOGIN_URL = LOGIN_URL
WAGTAIL_PASSWORD_RESET_ENABLED = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# Files: the private storage (claim papers, uploads waiting for a task) is a folder or an
# S3-compatible bucket (huzhu/core/storage.py); static files stay local.
HUZHU_DOCUMENT_DIR = os.environ.get("HUZHU_DOCUMENT_DIR") or None
from huzhu.core.storage import storage_settings  # noqa: E402
from huzhu.core.workdays import parse_dates  # noqa: E402

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": storage_settings(),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Background work: Django's Tasks API through the django-tasks backport.
if os.environ.get("HUZHU_TASKS", "db") == "rq":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {
        "default": {
            "URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            # RQ stops a job after 180 s by default: a million-row import takes longer.
            "DEFAULT_TIMEOUT": int(os.environ.get("HUZHU_TASK_TIMEOUT", "7200")),
        }
    }
    # django-tasks-rq's Job runs a Task (and sends its signals); without it `huzhu rqworker`
    # fails every task with "'Task' object is not callable". The queue class gives jobs
    # retries, so RQ re-queues the job of a worker that died (huzhu/ops/rq.py).
    RQ = {"JOB_CLASS": "django_tasks_rq.Job", "QUEUE_CLASS": "huzhu.ops.rq.RetryingQueue"}
    INSTALLED_APPS.append("django_rq")
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Wagtail
WAGTAIL_SITE_NAME = "嵊州市总工会"
WAGTAILADMIN_BASE_URL = os.environ.get("HUZHU_BASE_URL", "http://127.0.0.1:8000")
WAGTAIL_I18N_ENABLED = False
# No call to releases.wagtail.org from the admin's dashboard: nothing loads from the internet
# at run time (and the admin's Content-Security-Policy would refuse it).
WAGTAIL_ENABLE_UPDATE_CHECK = False
# The admin speaks Simplified Chinese only; strings Wagtail ships untranslated are filled in by
# huzhu/locale/zh_Hans (LOCALE_PATHS takes precedence over the apps' own catalogues).
WAGTAILADMIN_PERMITTED_LANGUAGES = [("zh-hans", "简体中文")]
# Attachments (附件) of notices and policy articles: office documents, not executables.
WAGTAILDOCS_EXTENSIONS = [
    "pdf",
    "doc",
    "docx",
    "wps",
    "xls",
    "xlsx",
    "et",
    "ppt",
    "pptx",
    "ofd",
    "zip",
    "rar",
    "txt",
]
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# Logs on stderr; HUZHU_LOG_FORMAT=json for one JSON object per line (log shippers). Every
# line carries the request id (huzhu/ops/tracing.py), also inside the tasks a request queued.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "huzhu.ops.tracing.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if os.environ.get("HUZHU_LOG_FORMAT") == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# /metrics (Prometheus) answers only these client addresses (comma-separated IPs or networks).
HUZHU_METRICS_ALLOW = [
    a.strip()
    for a in os.environ.get("HUZHU_METRICS_ALLOW", "127.0.0.1,::1").split(",")
    if a.strip()
]

# Member login codes: a dotted path to a huzhu.members.sms.SmsBackend subclass (the console
# backend prints the code; production sets a real provider's backend).
HUZHU_SMS_BACKEND = os.environ.get("HUZHU_SMS_BACKEND", "huzhu.members.sms.ConsoleSmsBackend")
# Codes one client address may have sent per hour, whatever the phones (huzhu.members.sms);
# raise it for a sign-up session where many members share one network.
HUZHU_SMS_CODES_PER_ADDRESS = int(os.environ.get("HUZHU_SMS_CODES_PER_ADDRESS", "20"))

# The WeChat official account (huzhu/wechat, docs/wechat.md). Without an app id it is off.
HUZHU_WECHAT = {
    "APPID": os.environ.get("HUZHU_WECHAT_APPID", ""),
    "SECRET": os.environ.get("HUZHU_WECHAT_SECRET", ""),
    "TOKEN": os.environ.get("HUZHU_WECHAT_TOKEN", ""),
    "AES_KEY": os.environ.get("HUZHU_WECHAT_AES_KEY", ""),
    "API_BASE": os.environ.get("HUZHU_WECHAT_API_BASE", "https://api.weixin.qq.com"),
    "OPEN_BASE": os.environ.get("HUZHU_WECHAT_OPEN_BASE", "https://open.weixin.qq.com"),
    "TEMPLATES": {
        kind: os.environ.get(f"HUZHU_WECHAT_TEMPLATE_{kind.upper()}", "")
        for kind in ("auto_claim", "approved", "returned", "paid", "payment_failed", "adjustment")
    },
}
# Tencent Cloud SMS (huzhu.members.sms_tencent.TencentSmsBackend, docs/wechat.md).
HUZHU_SMS_TENCENT = {
    "SECRET_ID": os.environ.get("HUZHU_SMS_SECRET_ID", ""),
    "SECRET_KEY": os.environ.get("HUZHU_SMS_SECRET_KEY", ""),
    "SDK_APP_ID": os.environ.get("HUZHU_SMS_SDK_APP_ID", ""),
    "SIGN_NAME": os.environ.get("HUZHU_SMS_SIGN_NAME", ""),
    "TEMPLATE_CODE": os.environ.get("HUZHU_SMS_TEMPLATE_CODE", ""),
    "TEMPLATE_NOTICE": os.environ.get("HUZHU_SMS_TEMPLATE_NOTICE", ""),
    "REGION": os.environ.get("HUZHU_SMS_REGION", "ap-guangzhou"),
    "ENDPOINT": os.environ.get("HUZHU_SMS_ENDPOINT", "https://sms.tencentcloudapi.com"),
}
# Member notifications (huzhu/claims/notifications.py): HUZHU_NOTIFY_CHANNELS, comma-separated
# channel names (console, email, wechat, sms) or dotted paths to NotificationChannel classes.
# Default: with an app id the WeChat channel (template message, SMS when WeChat cannot reach the
# member), so a failed delivery stays unsent and the re-delivery tries it again; else the
# console, which prints no personal data unless DEBUG is on.
HUZHU_NOTIFY_CHANNELS = [
    c.strip() for c in os.environ.get("HUZHU_NOTIFY_CHANNELS", "").split(",") if c.strip()
] or (["wechat"] if HUZHU_WECHAT["APPID"] else ["console"])
# Working days for the dates members are promised (huzhu/core/workdays.py): the State
# Council's holidays come from `chinesecalendar`; a year it does not know yet can be given
# here (comma-separated YYYY-MM-DD), and these dates win.
HUZHU_HOLIDAYS = parse_dates(os.environ.get("HUZHU_HOLIDAYS", ""))
HUZHU_MAKEUP_WORKDAYS = parse_dates(os.environ.get("HUZHU_MAKEUP_WORKDAYS", ""))
# Absolute links in messages sent outside the browser (WeChat template messages, menu).
HUZHU_BASE_URL = os.environ.get("HUZHU_BASE_URL", "http://127.0.0.1:8000")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS=1 (production behind TLS): secure cookies, redirect http -> https, HSTS for a year.
# Behind a reverse proxy that terminates TLS, the proxy sets X-Forwarded-Proto (docs/security.md).
HTTPS = _env_bool("HTTPS", False) and not DEBUG
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HUZHU_HSTS_SECONDS", str(365 * 24 * 3600)))
    # Subdomains and the browsers' preload list too (a city government domain is HTTPS-only);
    # HUZHU_HSTS_SUBDOMAINS=0 / HUZHU_HSTS_PRELOAD=0 where that does not hold.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("HUZHU_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("HUZHU_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts only from the platform itself or inline with
# the per-request nonce (`<script nonce="{{ request.csp_nonce }}">`); nothing from other
# hosts. Inline style stays allowed (style attributes; no script runs from them).
# Wagtail's and Django's admin get their own policies (HUZHU_ADMIN_CSP below).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# The admins' policies (huzhu.web.middleware.ContentSecurityPolicyMiddleware), the tightest
# under which their pages work, checked in Chromium (tests/e2e/test_admin_csp.py): nothing
# from other hosts, no plugins, no <base>, forms post to the platform only. Wagtail 8 still
# renders a few inline scripts of its own (date/time pickers of the page editor's publishing
# settings, inline panels), which carry no nonce: /cms/ allows inline script; Django's admin
# needs none. Wagtail's preview panel frames its own /cms/ preview page: frames from 'self'.
_ADMIN_DIRECTIVES = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}
HUZHU_ADMIN_CSP = {
    "/cms/": {
        **_ADMIN_DIRECTIVES,
        "script-src": ["'self'", "'unsafe-inline'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'self'"],
    },
    "/django-admin/": {
        **_ADMIN_DIRECTIVES,
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
