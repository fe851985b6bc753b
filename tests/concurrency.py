"""Run calls at the same moment, each on its own thread and database connection."""

import threading

from django.db import connection


def run_together(calls, timeout: float = 120) -> list:
    """Each call on its own thread and connection, released together by a barrier. Returns
    each call's result, or the exception it raised (for the test to assert on)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait(timeout)
            results[i] = call()
        except Exception as exc:  # reported by the test's assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results
