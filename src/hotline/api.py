"""The JSON API (OpenAPI at /api/docs). Thin: every rule lives in services."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from http.client import responses as _PHRASES

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import Http404
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.throttling import BaseThrottle

from hotline.core import ratelimit
from hotline.core.apitypes import ApiError, ApiValidationError, problem_message
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
    user), counted exactly across web processes (core.ratelimit)."""

    _wait = threading.local()  # wait() takes no request; ninja calls it right after allow_request

    def allow_request(self, request) -> bool:
        limit, window = settings.HOTLINE["API_RATE"]
        identity = getattr(request, "hotline_rate_key", None)
        if limit <= 0 or identity is None:
            return True
        counted = ratelimit.hit(f"api:{identity}", window)
        self._wait.seconds = counted.seconds_left
        self._wait.limit, self._wait.window = limit, window
        return counted.count <= limit

    def wait(self):
        return self._wait.seconds


# Every operation answers these besides its own; the OpenAPI says so, so that
# clients and schema-driven tests know every status and its body. Lazy, like
# every text of the schema: /api/docs reads in the user's language.
_AUTH_ERRORS = {
    400: gettext_lazy("Bad request: a value the operation cannot use"),
    401: gettext_lazy("Not authenticated: no credentials, or a token that is mistyped, revoked or of an inactive user"),
    403: gettext_lazy("Not allowed for this user (or a logged-in session without its CSRF token)"),
    404: gettext_lazy("Not found, or not in the user's scope"),
    409: gettext_lazy("Not possible in the record's current state (e.g. an action its life-cycle does not allow now)"),
    422: gettext_lazy("Invalid input: one item per problem, naming the field"),
    429: gettext_lazy("Too many requests (HOTLINE_API_RATE); Retry-After says when to try again"),
}
_PUBLIC_ERRORS = {code: _AUTH_ERRORS[code] for code in (400, 422, 429)} | {
    404: gettext_lazy("Nothing found"),
}
_BODY_ERRORS = {413: gettext_lazy("Request body too large")}
# ninja describes the answers an operation declares by their HTTP reason phrase.
_SUCCESS = {200: pgettext_lazy("HTTP status", "OK"), 201: pgettext_lazy("HTTP status", "Created"),
            204: pgettext_lazy("HTTP status", "No Content")}


def _retry_after() -> dict:
    return {"description": gettext_lazy("seconds to wait"), "schema": {"type": "integer"}}


def _schema_ref(model) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def document_errors(schema: dict) -> dict:
    """Adds the error answers every operation can give to an OpenAPI schema
    (an operation's own declaration of a status wins)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ApiError, ApiValidationError):
        spec = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(spec.pop("$defs", {}))
        components[model.__name__] = spec
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            errors = dict(_AUTH_ERRORS if operation.get("security") else _PUBLIC_ERRORS)
            if "requestBody" in operation:
                errors.update(_BODY_ERRORS)
            responses = operation.setdefault("responses", {})
            for code, answer in responses.items():
                if int(code) in _SUCCESS and answer.get("description") == _PHRASES.get(int(code)):
                    answer["description"] = _SUCCESS[int(code)]
            for code, description in errors.items():
                declared = responses.get(code) or responses.get(str(code))
                if declared is not None:
                    if declared.get("description") == _PHRASES.get(code):
                        declared["description"] = description
                    if code == 429:  # an operation's own limit sets it too
                        declared.setdefault("headers", {}).setdefault("Retry-After", _retry_after())
                    continue
                answer = {"description": description,
                          "content": _schema_ref(ApiValidationError if code == 422 else ApiError)}
                if code == 429:
                    answer["headers"] = {"Retry-After": _retry_after()}
                if code == 401:
                    answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
                responses[code] = answer
    return schema


def rendered(node):
    """A copy of the schema with every lazy text (summaries, descriptions,
    tags, field descriptions) rendered in the active language. ninja and
    pydantic build the schema anew on every call, caching nothing, so each
    request gets its own language; a plain dict of strings is also what
    schema tools (schemathesis) expect."""
    if isinstance(node, Promise):
        return str(node)
    if isinstance(node, dict):
        return {key: rendered(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [rendered(value) for value in node]
    return node


class HotlineAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        return rendered(document_errors(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)))


api = HotlineAPI(
    title="hotline API",
    version="1",
    description=gettext_lazy("Work orders, time limits and supervision of a public-service hotline."),
    auth=[TokenAuth(), HeaderTokenAuth(), SessionAuth()],
    throttle=[RateLimit()],
    urls_namespace="api",
)


def _error(request, status: int, detail):
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(OrderError)
def _order_error(request, exc: OrderError):
    # Every problem at once, each naming its field ("record.cause": the item cause of the body's record).
    return _error(request, 422, [{"loc": [e.field], "msg": e.message, "type": "value_error"}
                                 for e in (exc.errors or [exc])])


@api.exception_handler(TransitionError)
def _transition_error(request, exc: TransitionError):
    return _error(request, 409, str(exc))


@api.exception_handler(NotAllowed)
def _not_allowed(request, exc: NotAllowed):
    return _error(request, 403, str(exc) or _("You may not do this."))


@api.exception_handler(PermissionError)
def _permission(request, exc: PermissionError):
    return _error(request, 403, str(exc) or _("You may not do this."))


def _not_found(model) -> str:
    if model is None:
        return _("Not found.")
    return _("%(name)s not found.") % {"name": capfirst(model._meta.verbose_name)}


@api.exception_handler(ObjectDoesNotExist)
def _missing(request, exc):
    model = next((m for m in apps.get_models() if type(exc) is m.DoesNotExist), None)
    return _error(request, 404, _not_found(model))


# get_object_or_404's message names the model's class in English.
_DJANGO_404 = re.compile(r"^No (\w+) matches the given query\.$")


@api.exception_handler(Http404)
def _http404(request, exc):
    message = str(exc)
    match = _DJANGO_404.match(message)
    if match or not message:
        name = match.group(1) if match else ""
        model = next((m for m in apps.get_models() if m.__name__ == name), None)
        message = _not_found(model)
    return _error(request, 404, message)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return _error(request, 413, _("The request body is too large."))


@api.exception_handler(ValidationError)
def _validation(request, exc: ValidationError):
    # Leave out the view arguments' names ninja puts in (payload, filters).
    detail = [{"loc": [p for p in e.get("loc", []) if p not in ("body", "payload", "filters")], "msg": problem_message(e),
               "type": e.get("type", "value_error")} for e in exc.errors]
    return _error(request, 422, detail)


# Safety nets: input is bounded where it is parsed (core.apitypes), so these
# mean a bound is missing somewhere; the client still gets a 4xx, not a 500.
@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def _out_of_range(request, exc):
    nul = _nul_at(request)
    if nul is not None:  # PostgreSQL stores no NUL character in a text
        return _error(request, 422, [{"loc": nul, "msg": _("A text may not contain a NUL character."),
                                      "type": "string_nul"}])
    log.warning("value out of range reached the database or a conversion: %s", exc)
    return _error(request, 422, [{"loc": [], "msg": _("A value is out of range or not valid here."),
                                  "type": "out_of_range"}])


def _nul_at(request) -> list | None:
    """Where the request carries a NUL character: ["query", name], ["path",
    name] or the JSON body's field path; None if nowhere."""
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return ["query", key.replace("\x00", "")]
    match = getattr(request, "resolver_match", None)
    for key, value in (match.kwargs.items() if match else ()):
        if isinstance(value, str) and "\x00" in value:
            return ["path", key]
    try:
        body = request.body
    except Exception:  # a multipart upload already read as a stream
        return None
    if b"\\u0000" in body or b"\x00" in body:
        import json

        try:
            return _nul_in(json.loads(body), []) or []
        except ValueError:
            return []
    return None


def _nul_in(value, path: list) -> list | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _nul_in(item, [*path, key])
        if found is not None:
            return found
    return None


@api.exception_handler(IntegrityError)
def _conflict(request, exc):
    log.warning("integrity error in the API: %s", exc)
    return _error(request, 409, _("The change conflicts with what is already recorded; reload and try again."))


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


def _ninja_message(message: str) -> str:
    # django-ninja's own refusals are English only.
    if message == "CSRF check Failed":
        return _("CSRF check failed: a logged-in session must send its CSRF token (X-CSRFToken header).")
    if message.startswith("Cannot parse request body"):
        return _("The request body cannot be read: send JSON (or a form where one is asked for).")
    return message


@api.exception_handler(HttpError)
def _http(request, exc: HttpError):
    return _error(request, exc.status_code, _ninja_message(str(exc)))


@api.exception_handler(ValueError)
def _value(request, exc: ValueError):
    return _error(request, 400, str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc):
    log.exception("unexpected API error")
    return _error(request, 500, _("Internal error; it has been logged."))


from hotline.workorders.api import router as workorders_router  # noqa: E402

api.add_router("/", workorders_router)

from hotline.outages.api import router as outages_router  # noqa: E402

api.add_router("/", outages_router)

from hotline.selfservice.api import router as selfservice_router  # noqa: E402

api.add_router("/public", selfservice_router)  # customers' self-service: no auth (auth=None)

from hotline.calls.api import router as calls_router  # noqa: E402

api.add_router("/", calls_router)  # call events from the switches: each source's own token (auth in the router)
