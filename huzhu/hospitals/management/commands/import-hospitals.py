"""`huzhu import-hospitals FILE`: load or update the hospital registry from a sheet.

Columns: 医院代码 code, 医院名称 name, 医院等级 level, 开户银行 bank_name, 银行账号 bank_account.
Exit codes: 0 done, 1 refused (problems listed), 2 usage error or unreadable file; the last
output line is `{"rows": N, "created": N, "updated": N, "unchanged": N, "errors": N}`.
"""

from huzhu.core.commands import KeyedImportCommand
from huzhu.hospitals.imports import hospital_import


class Command(KeyedImportCommand):
    help = "Load the hospital registry from an Excel/CSV sheet (医院代码, 医院名称, 医院等级, 开户银行, 银行账号)."
    import_service = staticmethod(hospital_import)
