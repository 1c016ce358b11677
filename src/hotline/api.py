"""The JSON API (OpenAPI at /api/docs). Thin: every rule lives in services."""

from __future__ import annotations

import hashlib
import logging
import math
import threading

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.throttling import BaseThrottle

from hotline.core import clock
from hotline.organisation.services import user_for_token
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError

log = logging.getLogger(__name__)


def _token_identity(request, token: str) -> None:
    # The rate limit counts per token, not per user: a user may hold several.
    request.hotline_rate_key = "tok:" + hashlib.sha256(token.encode()).hexdigest()[:32]


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
            _token_identity(request, token)
        else:
            request.hotline_bad_token = True
        return user


class HeaderTokenAuth(APIKeyHeader):
    param_name = "X-Api-Token"

    def authenticate(self, request, key):
        user = user_for_token(key) if key else None
        if user is not None:
            request.user = user
            _token_identity(request, key)
        elif key:
            request.hotline_bad_token = True
        return user


class SessionAuth(APIKeyCookie):
    """The browser's log-in session. Its CSRF check only runs for a logged-in
    user: a request with no credentials at all is told to authenticate (401),
    not that a CSRF token is missing."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)  # unsafe methods without a CSRF token: 403

    def authenticate(self, request, key):
        request.hotline_rate_key = f"user:{request.user.pk}"
        return request.user


class RateLimit(BaseThrottle):
    """HOTLINE_API_RATE requests per fixed window, per token (or per session
    user), counted in the shared database cache so the limit holds across
    web processes. The database cache's incr reads then writes: requests
    landing in the same instant may be counted once, so the limit can only
    err on the generous side."""

    _wait = threading.local()  # wait() takes no request; ninja calls it right after allow_request

    def allow_request(self, request) -> bool:
        limit, window = settings.HOTLINE["API_RATE"]
        identity = getattr(request, "hotline_rate_key", None)
        if limit <= 0 or identity is None:
            return True
        ts = clock.now().timestamp()
        number = int(ts // window)
        key = f"hotline:api:{identity}:{number}"
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first request
            count = 1 if cache.add(key, 1, window + 60) else cache.incr(key)
        self._wait.seconds = max(1, math.ceil((number + 1) * window - ts))
        self._wait.limit, self._wait.window = limit, window
        return count <= limit

    def wait(self):
        return self._wait.seconds


api = NinjaAPI(
    title="hotline API",
    version="1",
    description="Work orders, time limits and supervision of a public-service hotline.",
    auth=[TokenAuth(), HeaderTokenAuth(), SessionAuth()],
    throttle=[RateLimit()],
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
    if getattr(request, "hotline_bad_token", False):
        detail = _("The API token is not valid: it is mistyped, revoked, or its user is inactive.")
    else:
        detail = _("Authentication required: send Authorization: Bearer <token> or log in.")
    response = _error(request, 401, detail)
    response["WWW-Authenticate"] = 'Bearer realm="hotline"'
    return response


@api.exception_handler(Throttled)
def _throttled(request, exc: Throttled):
    wait = RateLimit._wait
    return _error(request, 429, _("Too many requests: at most %(limit)d in %(window)d seconds. "
                                  "Try again in %(wait)d seconds.")
                  % {"limit": wait.limit, "window": wait.window, "wait": exc.wait or wait.seconds})


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

from hotline.outages.api import router as outages_router  # noqa: E402

api.add_router("/", outages_router)

from hotline.selfservice.api import router as selfservice_router  # noqa: E402

api.add_router("/public", selfservice_router)  # customers' self-service: no auth (auth=None)
