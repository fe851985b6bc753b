"""阅读量 under concurrent views on PostgreSQL: every view is counted, none lost."""

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from huzhu.portal.selectors import article_read_count
from tests.portal.conftest import SPEECH_URL

THREADS = 8
VIEWS_PER_THREAD = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_views_lose_no_update():
    from huzhu.portal.demo import SPEECH_KEY
    from huzhu.portal.models import ArticlePage
    from tests.portal.conftest import build_demo_portal

    build_demo_portal()
    speech = ArticlePage.objects.get(import_key=SPEECH_KEY)
    assert article_read_count(page=speech) == 0

    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    seen: list[int] = []
    lock = threading.Lock()

    def viewer():
        # each thread has its own database connection (Django connections are per thread)
        try:
            client = Client()
            barrier.wait()
            for _ in range(VIEWS_PER_THREAD):
                response = client.get(SPEECH_URL)
                assert response.status_code == 200
                shown = re.search(r'class="read-count">(\d+)<', response.content.decode())
                with lock:
                    seen.append(int(shown.group(1)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=viewer) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    total = THREADS * VIEWS_PER_THREAD
    assert article_read_count(page=speech) == total
    # each view read back its own value: every count from 1 to total was shown exactly once
    assert sorted(seen) == list(range(1, total + 1))
