"""The JSON API (Django Ninja). Each capability adds its router here; docs at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Huzhu API",
    version="1",
    description="职工医疗互助平台 API: member app, union app, bureau push, hospital one-stop.",
    urls_namespace="api",
)

# Routers are registered in huzhu/api/routers.py's register(); kept in one place so the order
# of the OpenAPI schema is stable.
from huzhu.api import routers  # noqa: E402,F401
