"""The JSON API (OpenAPI at /api/docs). Thin: every rule lives in services."""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from hotline.organisation.services import user_for_token
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class HeaderTokenAuth(APIKeyHeader):
    param_name = "X-Api-Token"

    def authenticate(self, request, key):
        user = user_for_token(key) if key else None
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="hotline API",
    version="1",
    description="Work orders, time limits and supervision of a public-service hotline.",
    auth=[TokenAuth(), HeaderTokenAuth(), django_auth],
    urls_namespace="api",
)


def _error(request, status: int, detail):
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(OrderError)
def _order_error(request, exc: OrderError):
    return _error(request, 422, [{"loc": [exc.field], "msg": exc.message, "type": "value_error"}])


@api.exception_handler(TransitionError)
def _transition_error(request, exc: TransitionError):
    return _error(request, 409, str(exc))


@api.exception_handler(NotAllowed)
def _not_allowed(request, exc: NotAllowed):
    return _error(request, 403, str(exc) or "not allowed")


@api.exception_handler(PermissionError)
def _permission(request, exc: PermissionError):
    return _error(request, 403, str(exc) or "not allowed")


@api.exception_handler(ObjectDoesNotExist)
def _missing(request, exc):
    return _error(request, 404, "not found")


@api.exception_handler(Http404)
def _http404(request, exc):
    return _error(request, 404, str(exc) or "not found")


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return _error(request, 413, "request body too large")


@api.exception_handler(ValidationError)
def _validation(request, exc: ValidationError):
    detail = [{"loc": [p for p in e.get("loc", []) if p not in ("body", "payload")], "msg": e.get("msg", "invalid"),
               "type": e.get("type", "value_error")} for e in exc.errors]
    return _error(request, 422, detail)


@api.exception_handler(AuthenticationError)
def _auth(request, exc):
    return _error(request, 401, "authentication required")


@api.exception_handler(HttpError)
def _http(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(ValueError)
def _value(request, exc: ValueError):
    return _error(request, 400, str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc):
    log.exception("unexpected API error")
    return _error(request, 500, "internal error; it has been logged")


from hotline.workorders.api import router as workorders_router  # noqa: E402

api.add_router("/", workorders_router)
