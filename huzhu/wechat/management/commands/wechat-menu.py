"""`huzhu wechat-menu push`: set the official account's menu (在线申请 · 我的进度 · 办事指南).
`huzhu wechat-menu show` prints it without sending. Last line: a JSON summary.
Exit 0 done, 1 WeChat refused it (errcode shown), 2 WeChat not configured."""

import json

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.wechat.client import WeChatError, menu_create
from huzhu.wechat.config import wechat_settings
from huzhu.wechat.messages import account_menu


class Command(HuzhuCommand):
    help = "Set (push) or print (show) the WeChat official account's menu."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["push", "show"])

    def handle(self, *args, **options):
        config = wechat_settings()
        menu = account_menu(config)
        if options["action"] == "show":
            self.stdout.write(json.dumps(menu, ensure_ascii=False, indent=2))
            self.write_summary({"pushed": False, "buttons": len(menu["button"])})
            return
        if not config.enabled:
            raise UsageError("未配置微信公众号（HUZHU_WECHAT_APPID、HUZHU_WECHAT_SECRET）")
        try:
            menu_create(menu, config=config)
        except WeChatError as exc:
            self.stdout.write(f"微信拒绝了菜单：{exc.errcode} {exc.errmsg}")
            self.write_summary({"pushed": False, "errcode": exc.errcode})
            self.exit_refused()
        self.write_summary({"pushed": True, "buttons": len(menu["button"])})
