"""Demo: the region's hospitals in the registry (through the import, so a second run changes
nothing) and one-stop API keys for the first of them, printed once when created."""

from __future__ import annotations

from huzhu.api.keys import api_key_create
from huzhu.api.models import ApiKey, ApiKeyKind

from .imports import hospital_import

DEMO_SHEET = (
    "医院代码,医院名称,医院等级,开户银行,银行账号\n"
    "H33068301,嵊州市人民医院,三级乙等,中国工商银行嵊州支行,6222021211000012345\n"
    "H33068302,嵊州市中医院,三级乙等,中国农业银行嵊州支行,6228481211000023456\n"
    "H33068303,嵊州市妇幼保健院,二级甲等,中国建设银行嵊州支行,6217001211000034567\n"
)


def run(*, stdout) -> None:
    result = hospital_import(data=DEMO_SHEET.encode(), file_name="demo-hospitals.csv")
    stdout.write(f"医院：{result.summary}")
    code = "H33068301"
    if ApiKey.objects.filter(kind=ApiKeyKind.HOSPITAL, owner_code=code, is_active=True).exists():
        stdout.write(
            f"医院 {code} 已有一站式结算接口密钥（新密钥：huzhu api-key create --hospital {code}）"
        )
        return
    key, secret = api_key_create(
        kind=ApiKeyKind.HOSPITAL, owner_code=code, owner_name="嵊州市人民医院"
    )
    stdout.write(
        f"一站式结算接口密钥（{code} 嵊州市人民医院，仅显示这一次）：X-Huzhu-Key {key.key_id} 密钥 {secret}"
    )
