"""Reading the spreadsheets offices actually keep: .xlsx / .xls / .ods / CSV, one reader for
every import (enrollment, unions, hospitals, bank returns, settlements, simulate).

Every file is checked before it is parsed (`checks`: kind, size, zip entries, declared
sheet dimensions, line length, columns, cells); workbooks are parsed in a child process
with a memory limit (`isolation`), so no file can take the server or a worker down. The
header is found under title rows and blank rows, headers people type (Chinese or English,
full-width or not) map to canonical names, CSV is UTF-8 (BOM or not) or GBK/GB18030.

- `read_table(data, file_name, aliases=..., required=...)` -> `Sheet` (row imports; cell
  values keep their raw type: an ID number Excel stored as a number arrives as a float, so
  the validator can refuse it as mangled instead of guessing its lost digits);
- `read_frame(path, ...)` -> `Table` of polars text columns (bulk imports; amounts are
  never floats, ID numbers never lose digits here).

`RowProblem` is the one shape of a per-row problem shared by every import. Nothing here
imports Django.
"""

from .base import (
    HEADER_SCAN_ROWS,
    RowProblem,
    Sheet,
    TabularError,
    cell_text,
    normalize_header,
    normalize_text,
)
from .checks import DEFAULT_LIMITS, Limits
from .reader import (
    FRAME_LIMITS,
    ROW_LIMITS,
    Table,
    check_file,
    read_file_bytes,
    read_frame,
    read_grids,
    read_table,
)
from .sheet import sheet_from_grids

__all__ = [
    "DEFAULT_LIMITS",
    "FRAME_LIMITS",
    "HEADER_SCAN_ROWS",
    "ROW_LIMITS",
    "Limits",
    "RowProblem",
    "Sheet",
    "Table",
    "TabularError",
    "cell_text",
    "check_file",
    "normalize_header",
    "normalize_text",
    "read_file_bytes",
    "read_frame",
    "read_grids",
    "read_table",
    "sheet_from_grids",
]
