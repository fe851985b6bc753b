"""Staff pages (工作人员页面): one module per area; urls.py imports them from here."""

from . import dashboard, enrollment, fees, members, unions

__all__ = ["dashboard", "enrollment", "fees", "members", "unions"]
