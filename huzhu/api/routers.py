"""Register every capability's Ninja router on the API (import side effects, one place)."""

from huzhu.api.api import api  # noqa: E402
from huzhu.api.bureau import router as bureau_router  # noqa: E402
from huzhu.api.keys import ApiAuthError  # noqa: E402
from huzhu.api.member import MemberApiRefusal, member_api_refused  # noqa: E402
from huzhu.api.member import router as member_router  # noqa: E402
from huzhu.api.onestop import router as onestop_router  # noqa: E402
from huzhu.api.signing import auth_failed  # noqa: E402

api.add_router("/bureau", bureau_router)
api.add_router("/member", member_router)
api.add_router("/onestop", onestop_router)
api.add_exception_handler(ApiAuthError, auth_failed)
api.add_exception_handler(MemberApiRefusal, member_api_refused)
