"""Register every capability's Ninja router on the API (import side effects, one place)."""

from huzhu.api.api import api  # noqa: E402
from huzhu.api.bureau import router as bureau_router  # noqa: E402

api.add_router("/bureau", bureau_router)
