"""gunicorn settings for serving Huzhu: `gunicorn -c python:huzhu.gunicorn_conf huzhu.wsgi`.

Threaded workers (`gthread`) keep HTTP connections alive, so a hospital's settlement system
(or the load benchmark, `benchmarks/onestop_load.py`) does not open a TCP connection per
request; sync workers would. Environment overrides: HUZHU_BIND, WEB_CONCURRENCY (workers),
HUZHU_THREADS (threads per worker). Serve with DEBUG off and CONN_MAX_AGE set (persistent
database connections); see README.
"""

import multiprocessing
import os

bind = os.environ.get("HUZHU_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("HUZHU_THREADS", "4"))
keepalive = 30
backlog = 2048
timeout = 30
graceful_timeout = 10
accesslog = None
