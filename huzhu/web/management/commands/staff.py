"""`huzhu staff create USERNAME --role ROLE --union CODE [--name NAME] [--password-stdin]`,
`huzhu staff disable USERNAME [--reason TEXT]`, `huzhu staff unlock USERNAME`.

The same services as the staff accounts page (/staff/accounts/), audited with no acting user
("by the command line"). `create` prints the initial password once (generated unless one is
read from standard input); the last line is the JSON summary.
"""

import sys

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.organizations.accounts import (
    STAFF_ROLE_CHOICES,
    AccountError,
    AccountInput,
    staff_account_create,
    staff_account_disable,
)
from huzhu.organizations.models import Union, User
from huzhu.organizations.security import lockout_clear
from huzhu.portal.services import portal_groups_sync


class Command(HuzhuCommand):
    help = "Create, disable or unlock a staff login (role and union), as /staff/accounts/ does."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a staff login; prints its password once")
        create.add_argument("username")
        create.add_argument(
            "--role", required=True, choices=[value for value, _ in STAFF_ROLE_CHOICES]
        )
        create.add_argument("--union", required=True, help="union code, e.g. SZ000")
        create.add_argument("--name", default="", help="the person's name")
        create.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input instead of generating one",
        )
        disable = sub.add_parser("disable", help="switch a login off (nothing is deleted)")
        disable.add_argument("username")
        disable.add_argument("--reason", default="")
        unlock = sub.add_parser("unlock", help="lift the login lockouts of a user name")
        unlock.add_argument("username")

    def handle(self, *args, **options):
        action = options["action"]
        try:
            if action == "create":
                self._create(options)
            elif action == "disable":
                user = self._user(options["username"])
                staff_account_disable(acting_user=None, user=user, reason=options["reason"])
                self.write_summary({"username": user.username, "active": False})
            else:
                cleared = lockout_clear(username=options["username"], acting_user=None)
                self.write_summary({"username": options["username"], "attempts_cleared": cleared})
        except AccountError as exc:
            self.stdout.write(f"{exc.field}: {exc.message}")
            self.write_summary({"username": options["username"], "refused": exc.field})
            self.exit_refused()

    def _create(self, options):
        union = Union.objects.filter(code=options["union"]).first()
        if union is None:
            raise UsageError(f"工会代码 {options['union']} 不存在")
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        user, password = staff_account_create(
            acting_user=None,
            username=options["username"],
            account=AccountInput(role=options["role"], union=union, first_name=options["name"]),
            password=password,
        )
        portal_groups_sync(user=user)
        if not options["password_stdin"]:
            self.stdout.write(f"初始密码（仅显示这一次）: {password}")
        self.write_summary(
            {"username": user.username, "role": user.role, "union": union.code, "active": True}
        )

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise UsageError(f"账号 {username} 不存在")
        return user
