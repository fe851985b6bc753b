#!/usr/bin/env bash
# The cluster test on one machine, loopback only (issue 20): nginx in front of two app servers
# (granian), two RQ workers, PostgreSQL (a database of its own), Redis, an S3-compatible server
# (moto, server mode). It runs the one-stop load through nginx and a settlement upload at the
# same time, kills one app server and one worker mid-run, then checks that no settle was lost
# or doubled, that the upload finished on the other worker and that a paper uploaded through
# one app server is read through the other. Prints the figures; exits 1 if a check fails.
#
#   deploy/local-cluster.sh [--members 5000] [--seconds 60] [--clients 16] [--rows 20000]
#                           [--base-port 8200] [--redis-db 13] [--keep]
#
# Needs: nginx (/usr/sbin/nginx), PostgreSQL on 127.0.0.1:5432 (user postgres, creates and
# drops a database huzhu_cluster_<pid>), Redis on 127.0.0.1:6379 (uses and flushes one db
# number), the project's virtualenv (PY=/path/to/python to choose it). Ports: base (nginx),
# base+1 and base+2 (app servers), base+10 (S3 server). Not part of `make test` (minutes of
# load); tests/ops/test_local_cluster.py checks its pieces.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
PY="${PY:-$repo/.venv/bin/python}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

if [[ ! -x "$PY" ]]; then
    echo "local-cluster: no Python at $PY (set PY=…/.venv/bin/python)" >&2
    exit 2
fi
if [[ ! -x "$NGINX" ]]; then
    echo "local-cluster: nginx not found (apt-get install nginx-light, or set NGINX=)" >&2
    exit 2
fi

export NGINX
cd "$repo"
exec "$PY" "$here/local_cluster.py" "$@"
