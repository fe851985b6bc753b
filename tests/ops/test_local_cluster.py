"""The pieces of deploy/local-cluster.sh (the cluster test itself runs minutes of load and is
not part of `make test`): the script parses, its nginx configuration renders and nginx accepts
it, and the settings it gives the servers are those of a Redis + S3 deployment."""

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("local_cluster", REPO / "deploy/local_cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_parses():
    script = REPO / "deploy/local-cluster.sh"
    assert script.stat().st_mode & 0o111, "not executable"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_nginx_configuration_renders_and_nginx_accepts_it(tmp_path):
    cluster = _module()
    text = cluster.render_nginx_conf(prefix=tmp_path, listen_port=8290, app_ports=[8291, 8292])
    assert "listen 127.0.0.1:8290;" in text
    assert "server 127.0.0.1:8291 max_fails=1 fail_timeout=5s;" in text
    assert "server 127.0.0.1:8292 max_fails=1 fail_timeout=5s;" in text
    assert "0.0.0.0" not in text and "listen 80" not in text  # loopback only
    # The proxy settings of the deployment recipe.
    for line in ("proxy_next_upstream error timeout http_502 http_503;", "X-Request-ID"):
        assert line in text and line in (REPO / "deploy/nginx.conf").read_text()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    done = cluster.nginx_check(nginx, conf, tmp_path)
    assert done.returncode == 0, done.stderr


def test_every_server_gets_redis_tasks_and_the_shared_bucket(tmp_path):
    cluster = _module()
    env = cluster.cluster_env(
        "huzhu_cluster_x",
        redis_url="redis://127.0.0.1:6379/13",
        s3_endpoint="http://127.0.0.1:8210",
        var_dir=tmp_path,
    )
    assert env["HUZHU_TASKS"] == "rq" and env["REDIS_URL"].endswith("/13")
    assert env["HUZHU_STORAGE"] == "s3" and env["HUZHU_S3_ENDPOINT_URL"].startswith("http://127.")
    assert env["DATABASE_URL"].endswith("/huzhu_cluster_x")
    assert "DEBUG" not in env and "HUZHU_DOCUMENT_DIR" not in env
    from huzhu.core.storage import storage_settings

    assert storage_settings(env)["BACKEND"] == "storages.backends.s3.S3Storage"
