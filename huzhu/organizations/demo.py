"""Demo: the federation, its industry and township unions, ~20 workplace unions, one login per role."""

from django.db import transaction

from .models import Role, Union, UnionKind, User

FEDERATION = ("SZ000", "嵊州市总工会")
INDUSTRY = [
    ("SZI01", "嵊州市教育工会"),
    ("SZI02", "嵊州市卫生健康工会"),
    ("SZI03", "嵊州市机关工会"),
]
TOWNSHIP = [
    ("SZT01", "剡湖街道总工会"),
    ("SZT02", "三江街道总工会"),
    ("SZT03", "鹿山街道总工会"),
    ("SZT04", "甘霖镇总工会"),
    ("SZT05", "长乐镇总工会"),
]
WORKPLACE = [
    ("SZW001", "嵊州市人民医院工会", "SZI02"),
    ("SZW002", "嵊州市中医院工会", "SZI02"),
    ("SZW003", "嵊州市第一中学工会", "SZI01"),
    ("SZW004", "嵊州市城南小学工会", "SZI01"),
    ("SZW005", "嵊州市财政局工会", "SZI03"),
    ("SZW006", "嵊州市人力社保局工会", "SZI03"),
    ("SZW007", "浙江巴贝领带有限公司工会", "SZT01"),
    ("SZW008", "嵊州市领带园管理委员会工会", "SZT01"),
    ("SZW009", "浙江森歌电器有限公司工会", "SZT02"),
    ("SZW010", "浙江亿田智能厨电股份有限公司工会", "SZT02"),
    ("SZW011", "嵊州市越剧艺术学校工会", "SZT03"),
    ("SZW012", "浙江帅丰电器股份有限公司工会", "SZT03"),
    ("SZW013", "嵊州市甘霖镇卫生院工会", "SZT04"),
    ("SZW014", "浙江甘霖茶业有限公司工会", "SZT04"),
    ("SZW015", "嵊州市长乐镇中心学校工会", "SZT05"),
    ("SZW016", "浙江长乐机械有限公司工会", "SZT05"),
    ("SZW017", "嵊州市自来水有限公司工会", "SZT01"),
    ("SZW018", "嵊州市公交有限公司工会", "SZT02"),
    ("SZW019", "嵊州市农商银行工会", "SZT03"),
    ("SZW020", "嵊州市电力公司工会", "SZT01"),
]

# One login per role (username, role, union code, display name). Demo password for all.
DEMO_PASSWORD = "huzhu-demo-2026"
DEMO_USERS = [
    ("admin", Role.ADMIN, "SZ000", "系统管理员"),
    ("reviewer", Role.FEDERATION_REVIEWER, "SZ000", "市总审核员"),
    ("finance", Role.FEDERATION_FINANCE, "SZ000", "市总财务"),
    ("editor", Role.PORTAL_EDITOR, "SZ000", "网站编辑"),
    ("chief", Role.PORTAL_CHIEF_EDITOR, "SZ000", "嵊州采编01"),
    ("operator", Role.UNION_OPERATOR, "SZW001", "人民医院工会经办人"),
    ("operator2", Role.UNION_OPERATOR, "SZW007", "巴贝领带工会经办人"),
]


@transaction.atomic
def run(*, stdout) -> None:
    fed, _ = Union.objects.update_or_create(
        code=FEDERATION[0],
        defaults={
            "name": FEDERATION[1],
            "kind": UnionKind.FEDERATION,
            "parent": None,
            "contact": "办公室",
            "phone": "0575-83112057",
        },
    )
    parents = {fed.code: fed}
    for code, name in INDUSTRY:
        parents[code], _ = Union.objects.update_or_create(
            code=code, defaults={"name": name, "kind": UnionKind.INDUSTRY, "parent": fed}
        )
    for code, name in TOWNSHIP:
        parents[code], _ = Union.objects.update_or_create(
            code=code, defaults={"name": name, "kind": UnionKind.TOWNSHIP, "parent": fed}
        )
    for code, name, parent in WORKPLACE:
        Union.objects.update_or_create(
            code=code,
            defaults={"name": name, "kind": UnionKind.WORKPLACE, "parent": parents[parent]},
        )
    unions = {u.code: u for u in Union.objects.all()}
    for username, role, union_code, display in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "union": unions[union_code],
                "first_name": display,
                "is_staff": role == Role.ADMIN,
                "is_superuser": role == Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
    stdout.write(f"工会: {Union.objects.count()} 个")
    stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）:")
    for username, role, union_code, _display in DEMO_USERS:
        stdout.write(f"  {username:<10} {Role(role).label}  {unions[union_code].name}")
    _demo_second_factors(stdout=stdout)


def _demo_second_factors(*, stdout) -> None:
    """The demo logins that must use a second factor get an enrolled authenticator, so the
    demo works without a phone: with DEBUG on, print each one's TOTP secret (for an app or
    `oathtool --totp -b SECRET`) and a fresh recovery code."""
    from base64 import b32encode

    from django.conf import settings
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from .security import recovery_codes_issue, second_factor_required

    lines = []
    for username, *_ in DEMO_USERS:
        user = User.objects.get(username=username)
        if not second_factor_required(user):
            continue
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        codes = recovery_codes_issue(user, count=3)
        secret = b32encode(device.bin_key).decode().rstrip("=")
        lines.append(f"  {username:<10} TOTP 密钥 {secret}  恢复码 {codes[0]}")
    if not lines:
        return
    if settings.DEBUG:
        stdout.write("两步验证（演示用；每个恢复码只能用一次，再次运行 huzhu demo 会换发）:")
        for line in lines:
            stdout.write(line)
    else:
        stdout.write("两步验证: 管理员、审核员、财务账号已绑定验证器（DEBUG=1 时显示密钥和恢复码）")
