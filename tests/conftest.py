import os

import pytest
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests check results, not speed: on a loaded machine (CI beside other work) the
# "input generation too slow" health check and per-example deadlines failed correct tests.
hypothesis_settings.register_profile(
    "huzhu", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
hypothesis_settings.load_profile("huzhu")


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks / concurrency); CI runs it there")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# One headless Chromium for the whole run, shared by every browser test in any folder
# (Playwright refuses a second sync instance while one is running).
@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session."""
    from tests.e2e.conftest import CHROMIUM_ARGS, _chromium_or_skip

    executable = _chromium_or_skip()
    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls
    # from it unless told that this is deliberate (the live server runs in its own thread).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    """Files saved through Django's default storage (Wagtail documents: 附件) go to a
    temporary folder, never to the checkout's var/media (the backup tests count files); so do
    files in the private storage (claim papers, uploads waiting for a preview or a task) unless
    a test names its own folder."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    settings.HUZHU_DOCUMENT_DIR = tmp_path_factory.mktemp("private")


# The local fake WeChat and fake Tencent SMS servers (huzhu/fakes/), for any test folder.
from tests.fakes import _sms_server, _wechat_server, fake_sms, fake_wechat  # noqa: E402,F401

# moto's S3-compatible server (one per run) and the private storage on a bucket of it.
from tests.s3 import s3_server, s3_storage, storage_kind  # noqa: E402,F401
