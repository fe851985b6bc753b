"""`huzhu api-key create --source NAME | --hospital CODE`: a key for the bureau's push API or a
hospital's one-stop settlement API (`/api/onestop/`).

Prints the key id and the secret once (the secret is stored encrypted and never shown again);
the last line is the JSON summary. `huzhu api-key list` shows keys without secrets;
`huzhu api-key deactivate KEY_ID` switches one off.
"""

from huzhu.api.keys import api_key_create, api_key_deactivate
from huzhu.api.models import ApiKey, ApiKeyKind
from huzhu.core.commands import HuzhuCommand, UsageError


class Command(HuzhuCommand):
    help = "Create, list or deactivate API keys (bureau push: --source NAME; one-stop: --hospital CODE)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key; prints its secret once")
        create.add_argument("--source", help="data source name, e.g. shengzhou-ybj")
        create.add_argument("--hospital", help="hospital code (one-stop settlement), e.g. H001")
        create.add_argument("--name", default="", help="display name of the owner")
        sub.add_parser("list", help="list keys (no secrets)")
        off = sub.add_parser("deactivate", help="switch a key off")
        off.add_argument("key_id")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "create":
            source = (options.get("source") or "").strip()
            hospital_code = (options.get("hospital") or "").strip()
            if bool(source) == bool(hospital_code):
                raise UsageError("请用 --source NAME 指明数据来源，或用 --hospital CODE 指明医院")
            kind, owner, name = ApiKeyKind.SOURCE, source, options["name"]
            if hospital_code:
                from huzhu.hospitals.models import Hospital

                hospital = Hospital.objects.filter(code=hospital_code).first()
                if hospital is None:
                    raise UsageError(
                        f"医院{hospital_code}未登记：先用 huzhu import-hospitals FILE 导入医院"
                    )
                kind, owner, name = ApiKeyKind.HOSPITAL, hospital.code, name or hospital.name
            try:
                key, secret = api_key_create(kind=kind, owner_code=owner, owner_name=name)
            except ValueError as exc:
                raise UsageError(str(exc))
            self.stdout.write(f"密钥编号 (X-Huzhu-Key): {key.key_id}")
            self.stdout.write(f"密钥 (secret，仅显示这一次，请妥善保存): {secret}")
            self.write_summary(
                {"key_id": key.key_id, "kind": key.kind, "owner": key.owner_code, "secret": secret}
            )
        elif action == "list":
            keys = ApiKey.objects.all()
            for k in keys:
                state = "启用" if k.is_active else "停用"
                self.stdout.write(f"{k.key_id}  {k.kind}  {k.owner_code}  {state}")
            self.write_summary({"keys": keys.count()})
        else:
            try:
                key = api_key_deactivate(key_id=options["key_id"])
            except ApiKey.DoesNotExist:
                raise UsageError(f"密钥 {options['key_id']} 不存在")
            self.write_summary({"key_id": key.key_id, "active": False})
