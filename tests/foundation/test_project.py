"""The project as a new user meets it: the console script, settings from the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from huzhu.members.models import Member
from tests.factories import MemberFactory

REPO = Path(__file__).resolve().parents[2]


def _run_huzhu(*args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "huzhu", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_server_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = _run_huzhu(
        "check",
        env_extra={"DEBUG": "0", "HUZHU_VAR_DIR": str(tmp_path)},
        drop=("SECRET_KEY",),
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_generates_keys_into_var_dir(tmp_path):
    result = _run_huzhu(
        "check",
        env_extra={"DEBUG": "1", "HUZHU_VAR_DIR": str(tmp_path)},
        drop=("SECRET_KEY", "HUZHU_FIELD_KEY", "DATABASE_URL"),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").read_text().strip()
    assert (tmp_path / "field_key").read_text().strip()


def test_settings_defaults(settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert "en" in dict(settings.LANGUAGES)
    assert settings.TIME_ZONE == "Asia/Shanghai"


@pytest.mark.django_db
def test_bank_account_is_encrypted_at_rest_and_masked():
    member = MemberFactory()
    member.bank_account = "6222021234567890123"
    member.save()
    stored = Member.objects.values_list("bank_account_encrypted", flat=True).get(pk=member.pk)
    assert "6222021234567890123" not in stored
    fresh = Member.objects.get(pk=member.pk)
    assert fresh.bank_account == "6222021234567890123"
    assert fresh.bank_account_masked.endswith("0123")
    assert "1234567890" not in fresh.bank_account_masked
    assert fresh.id_number_masked.startswith(fresh.id_number[:6])
    assert fresh.id_number_masked.count("*") == 8
