"""The JSON API (Django Ninja). Each capability adds its router here; docs at /api/docs."""

from ninja import NinjaAPI

from huzhu.api.openapi import document_error_answers


class HuzhuAPI(NinjaAPI):
    """The project's API: its OpenAPI schema also documents the framework's error answers
    (413, 400, 422, 401, 403) and the signed APIs' security scheme (`huzhu.api.openapi`)."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_error_answers(schema)


api = HuzhuAPI(
    title="Huzhu API",
    version="1",
    description="职工医疗互助平台 API: member app, union app, bureau push, hospital one-stop.",
    urls_namespace="api",
)

# Routers are registered in huzhu/api/routers.py's register(); kept in one place so the order
# of the OpenAPI schema is stable.
from huzhu.api import routers  # noqa: E402,F401
