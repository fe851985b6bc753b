"""`huzhu import-unions FILE`: load or update the union tree from a sheet.

Columns: 代码 code, 名称 name, 类型 kind, 上级代码 parent_code, 联系人 contact, 电话 phone.
Exit codes: 0 done, 1 refused (problems listed), 2 usage error or unreadable file; the last
output line is `{"rows": N, "created": N, "updated": N, "unchanged": N, "errors": N}`.
"""

from huzhu.core.commands import KeyedImportCommand
from huzhu.organizations.services import union_import


class Command(KeyedImportCommand):
    help = "Load the union tree from an Excel/CSV sheet (代码, 名称, 类型, 上级代码, 联系人, 电话)."
    import_service = staticmethod(union_import)
