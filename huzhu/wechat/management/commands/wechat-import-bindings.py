"""`huzhu wechat-import-bindings FILE [--valid-only] [--dry-run]`: bind followers' openids.

Columns 身份证号 and openid (or id_number and openid), .xlsx/.xls/CSV. Every bad row is
printed (`第N行 列: 原因`); nothing is written when one is bad unless `--valid-only`; the
same file again changes nothing. Last line: `{"rows", "bound", "rebound", "unchanged",
"errors"}`. Exit 0 done, 1 refused, 2 unreadable file.
"""

from huzhu.core.commands import KeyedImportCommand
from huzhu.wechat.imports import wechat_bindings_import


class Command(KeyedImportCommand):
    help = "Bind WeChat openids to members from an Excel/CSV sheet (身份证号, openid)."
    import_service = staticmethod(wechat_bindings_import)
